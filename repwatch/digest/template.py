"""The digest's HTML page (Jinja2, autoescaped) and its stylesheet, for screens and A4 print."""

CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: "repwatch reputation digest " string(week); font-size: 7pt;
                 color: #777; font-family: "DejaVu Sans", sans-serif; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 7pt;
                  color: #777; font-family: "DejaVu Sans", sans-serif; } }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 9pt;
       color: #1d2630; margin: 0 auto; max-width: 1000px; padding: 0 12px; line-height: 1.35; }
header { border-bottom: 3px solid #1f5fa8; padding: 4px 0 8px; margin-bottom: 10px; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 7.5pt; color: #1f5fa8;
          font-weight: bold; }
h1 { font-size: 18pt; margin: 2px 0 2px; string-set: week attr(data-week); }
h2 { font-size: 11.5pt; color: #1f5fa8; margin: 16px 0 6px; border-bottom: 1px solid #d5dde6;
     padding-bottom: 2px; break-after: avoid; }
h3 { font-size: 9.5pt; margin: 10px 0 4px; break-after: avoid; }
.sub, .note { color: #5b6773; }
.note { font-size: 7.5pt; margin: 3px 0; }
.lead { break-after: avoid; }
.kpis { display: table; width: 100%; border-spacing: 6px 0; margin: 0 -6px 6px; }
.kpi { display: table-cell; width: 16.6%; border: 1px solid #d5dde6; border-radius: 4px;
       padding: 6px 8px; vertical-align: top; background: #f6f8fb; }
.kpi .value { font-size: 14pt; font-weight: bold; }
.kpi .label { font-size: 7pt; color: #5b6773; text-transform: uppercase; }
.kpi .delta { font-size: 7.5pt; color: #5b6773; }
table { border-collapse: collapse; width: 100%; margin: 2px 0 6px; }
th, td { text-align: left; padding: 3px 5px; border-bottom: 1px solid #e3e8ee;
         vertical-align: top; }
th { font-size: 7.5pt; text-transform: uppercase; color: #5b6773; font-weight: normal; }
td.n, th.n { text-align: right; white-space: nowrap; }
table.items td:first-child { width: 7%; } table.items td:nth-child(2) { width: 17%; }
table.items td:last-child { width: 19%; }
tr.group td { font-weight: bold; background: #f6f8fb; }
tr { break-inside: avoid; }
.worse { color: #c8312b; } .better { color: #2e8b57; }
.charts { width: 100%; break-inside: avoid; }
.charts img { width: 49%; display: inline-block; margin: 0 0 6px; }
.quote { color: #3b4652; font-size: 8pt; }
.tag { display: inline-block; padding: 0 4px; border-radius: 3px; font-size: 7pt;
       background: #e8eef5; color: #33414f; }
.tag.open { background: #fde2e1; color: #9b1c17; }
.tag.answered { background: #def2e5; color: #1d6b3f; }
a { color: #1f5fa8; text-decoration: none; }
ul.examples { margin: 2px 0 0 0; padding-left: 14px; }
footer { margin-top: 16px; border-top: 1px solid #d5dde6; padding-top: 4px; font-size: 7pt;
         color: #5b6773; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reputation digest {{ d.week }}{% if d.brand %} {{ d.name(d.brand) }}{% endif %}</title>
<style>{{ css }}</style></head>
<body>
<header>
  <div class="kicker">repwatch &middot; weekly reputation digest</div>
  <h1 data-week="{{ d.week }}">Reputation digest: {{ d.scope_label }}</h1>
  <div class="sub">{{ d.week.label }}{% if not d.complete %} &middot; so far, until
    {{ d.until | when }} UTC{% endif %} &middot; generated {{ d.generated_at | when }} UTC</div>
</header>

{% set t = d.total %}
<div class="kpis">
  <div class="kpi"><div class="label">Mentions</div>
    <div class="value">{{ t.week.mentions if t else 0 }}</div>
    <div class="delta">{{ (t.volume_change if t else none) | count_change }}
      vs week before</div></div>
  <div class="kpi"><div class="label">Net sentiment</div>
    <div class="value">{{ (t.week.net_sentiment if t else none) | net }}</div>
    <div class="delta">{{ (t.net_change if t else none) | points }}</div></div>
  <div class="kpi"><div class="label">Flagged items</div>
    <div class="value">{{ d.flagged.flagged }}</div>
    <div class="delta">{{ d.flagged.responded }} answered, {{ d.flagged.open }} open</div></div>
  <div class="kpi"><div class="label">Past deadline</div>
    <div class="value">{{ d.overdue.count }}</div>
    <div class="delta">open items, end of week</div></div>
  <div class="kpi"><div class="label">Median response</div>
    <div class="value">{{ d.responses.median | duration(short=true) }}</div>
    <div class="delta">{{ d.responses.responded }} answered this week</div></div>
  {% if d.voice %}<div class="kpi"><div class="label">Share of voice</div>
    <div class="value">{{ d.voice[-1].own_share | share }}</div>
    <div class="delta">{% if d.voice | length > 1 %}{{ d.voice[0].own_share | share }}
      the week before{% else %}vs competitors{% endif %}</div></div>{% endif %}
</div>

<h2>Volume and sentiment by brand</h2>
<table>
  <tr><th>Brand</th><th class="n">Mentions</th><th class="n">vs week before</th>
    <th class="n">Negative</th><th class="n">Positive</th><th class="n">Net sentiment</th>
    <th class="n">Week before</th><th class="n">Change</th></tr>
  {% for r in d.brands %}{{ brand_row(r, "") }}{% endfor %}
  {% for r in d.groups %}{{ brand_row(r, "group") }}{% endfor %}
  {% if not d.brands %}<tr><td colspan="8">No mentions in these two weeks.</td></tr>{% endif %}
</table>
<p class="note">Mentions by the date they were published; sentiment from the newest analysis.
Net sentiment = (positive &minus; negative) / analysed mentions.</p>

{% for row in charts.items() | batch(2) %}<div class="charts">{% for name, uri in row
  %}<img src="{{ uri }}" alt="{{ name }} chart">{% endfor %}</div>{% endfor %}

<h2>Topics that changed</h2>
{% for title, topics, cls in [("Got worse", d.topics_worse, "worse"),
                              ("Got better", d.topics_better, "better")] %}
<h3>{{ title }}</h3>
{% if topics %}<table>
  <tr><th>Topic</th><th class="n">Mentions</th><th class="n">Negative</th>
    <th class="n">Week before</th><th class="n">Change</th><th>What customers said</th></tr>
  {% for tw in topics %}<tr><td>{{ tw.topic | topic_name }}</td>
    <td class="n">{{ tw.mentions }}</td><td class="n">{{ tw.negative_share | share }}</td>
    <td class="n">{{ tw.previous_negative_share | share }}</td>
    <td class="n {{ cls }}">{{ tw.change | points if tw.change is not none else "new" }}</td>
    <td><ul class="examples">{% for m in tw.examples %}<li class="quote">&ldquo;{{
      m.text | excerpt(160) }}&rdquo; &mdash; {{ d.name(m.brand) }}, {{ m.source }}</li>
    {% endfor %}</ul></td></tr>{% endfor %}
</table>{% else %}<p class="note">None this week.</p>{% endif %}
{% endfor %}

<h2>Most serious negative items</h2>
<p class="note lead">{{ d.flagged.flagged }} items flagged this week: {{ d.flagged.responded }}
answered, {{ d.flagged.dismissed }} dismissed, {{ d.flagged.open }} still open.
The {{ d.flagged.items | length }} with the highest priority:</p>
{{ item_table(d.flagged.items, false) }}

<h2>Past their response deadline</h2>
<p class="note lead">{{ d.overdue.count }} open items were past their deadline at the end of the
week{% if d.overdue.items %}; the longest overdue first{% endif %}.</p>
{{ item_table(d.overdue.items, true) }}

<h2>Response times</h2>
{% set rs = d.responses %}
<p>{{ rs.responded }} items answered this week. Median {{ rs.median | duration }} from flagging
to answer, 90th percentile {{ rs.p90 | duration }}; {{ rs.on_time }} of {{ rs.responded }}
answered by their deadline.</p>
{% if rs.by_assignee %}<table><tr><th>Team member</th><th class="n">Answered</th>
  <th class="n">Median</th><th class="n">By the deadline</th></tr>
  {% for a in rs.by_assignee %}<tr><td>{{ a.assignee }}</td><td class="n">{{ a.responded }}</td>
  <td class="n">{{ a.median | duration }}</td><td class="n">{{ a.on_time }}</td></tr>{% endfor %}
</table>{% endif %}

<h2>New sources of negative mentions</h2>
{% if d.new_sources %}<table><tr><th>Site</th><th>Crawled through</th>
  <th class="n">Negative</th><th>Most negative</th></tr>
  {% for s in d.new_sources %}<tr><td>{{ s.host }}</td><td>{{ s.sources | join(", ") }}</td>
  <td class="n">{{ s.mentions }}</td><td class="quote">{% if s.example %}{{
    link(s.example.url, (s.example.title or s.example.text) | excerpt(120)) }}{% endif %}</td></tr>
  {% endfor %}</table>
{% else %}<p class="note">No site brought negative mentions that was quiet the 12 weeks
before.</p>{% endif %}

<h2>The whole queue</h2>
<p>All brands, as the dashboard shows it at the end of the week:
{{ d.overview.open_items }} open items, {{ d.overview.overdue_items }} overdue,
{{ d.overview.escalated_items }} escalated.</p>

<footer>Week {{ d.week }}: {{ d.since | when }} to {{ d.until | when }} UTC.
Lists cover {{ d.scope_label }}. Figures from the repwatch database, the same queries as the
dashboard.</footer>
</body></html>
"""

MACROS = """
{% macro link(url, label) -%}
{%- set safe = url | web_url -%}
{%- if safe %}<a href="{{ safe }}">{{ label }}</a>{% else %}{{ label }}{% endif -%}
{%- endmacro %}

{% macro brand_row(r, cls) -%}
<tr class="{{ cls }}"><td>{{ r.name }}{% if r.competitor and not cls %}
  <span class="tag">competitor</span>{% endif %}</td>
  <td class="n">{{ r.week.mentions }}</td><td class="n">{{ r.volume_change | count_change }}</td>
  <td class="n">{{ r.week.negative }}</td><td class="n">{{ r.week.positive }}</td>
  <td class="n">{{ r.week.net_sentiment | net }}</td>
  <td class="n">{{ r.previous.net_sentiment | net }}</td>
  <td class="n">{{ r.net_change | points }}</td></tr>
{%- endmacro %}

{% macro item_table(items, overdue) -%}
{% if items %}<table class="items"><tr><th class="n">Priority</th>
  <th>Brand &middot; source</th><th>Mention</th>
  <th>{{ "Deadline" if overdue else "Answered?" }}</th></tr>
{% for i in items %}<tr><td class="n">{{ "%.0f" | format(i.priority) }}</td>
  <td>{{ d.name(i.brand) }}<br><span class="note">{{ i.source }}</span></td>
  <td>{% if i.title %}<b>{{ link(i.url, i.title | excerpt(90)) }}</b><br><span class="quote">{{
  i.text | excerpt(200) }}</span>{% else %}{{ link(i.url, i.text | excerpt(200)) }}{% endif
  %}<br><span class="note">{{ i.author or "anonymous" }} &middot; {{ i.rating | stars }}
  &middot; {{ i.published_at | when }}</span></td>
  <td>{% if overdue %}{{ i.deadline_at | when }}<br><span class="tag open">{{
    overdue_by(i.deadline_at, d.until) }}</span><br><span class="note">{{ i | state }}</span>
  {% else %}<span class="tag {{ 'answered' if i.responded_at else 'open' }}">{{ i | state
  }}</span>{% endif %}</td></tr>{% endfor %}
</table>{% else %}<p class="note">None.</p>{% endif %}
{%- endmacro %}
"""
