# ruff: noqa: RUF001, E501  (cue lists in six languages)
"""The built-in customer-service topics: names, descriptions, keyword cues and examples.

Data only; ``sentiment.topics`` turns it into a detector. Cues are lower-case words or
phrases in the six languages; ``*`` stands for any word ending (``wait*`` matches
"waiting", "waited"), otherwise the cue must end where a word ends. Examples are a few
sentences per topic written for repwatch; the training corpus adds many more.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic of the taxonomy, built in or from ``[topics.<key>]`` in repwatch.toml."""

    key: str
    name: str
    description: str
    examples: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()


def _spec(key: str, name: str, description: str, cues: str, examples: list[str]) -> TopicSpec:
    return TopicSpec(
        key=key,
        name=name,
        description=description,
        examples=tuple(examples),
        cues=tuple(c.strip() for c in cues.split("|") if c.strip()),
    )


BUILTIN_TOPICS: tuple[TopicSpec, ...] = (
    _spec(
        "waiting_time",
        "Waiting time",
        "Waiting, queues, time on hold, slow answers and delays.",
        "wait* | queue* | on hold | slow* | delay* | took ages | hours later | no reply yet"
        "| attend* | file d'attente | lent* | retard* | délai* | toujours pas de réponse"
        "| vänt* | kö | kön | långsam* | dröj* | försen*"
        "| жд* | ожидан* | очеред* | долго | медленн* | задерж* | опозд*"
        "| wart* | warteschl* | langsam* | verspät* | verzöger* | dauert* | ewig*"
        "| esper* | cola | colas | lent* | tard* | retras* | demor*",
        [
            "I waited 45 minutes on hold before anyone picked up.",
            "J'ai attendu trois semaines une réponse à mon mail.",
            "Vi stod i kö i en timme innan någon hjälpte oss.",
            "Ждал ответа оператора больше часа.",
            "Der Zug hatte wieder 40 Minuten Verspätung.",
            "Tardaron dos semanas en contestar mi correo.",
        ],
    ),
    _spec(
        "staff_attitude",
        "Staff attitude",
        "How politely and kindly staff treat customers: rude or friendly, patient or dismissive.",
        "rude* | impolite | unfriendly | friendly | polite* | arrogant* | disrespect* | smil*"
        "| courteous* | attitude | condescending | dismissive | kind and"
        "| impoli* | désagréable* | aimable* | sympa* | souriant* | accueil* | malpoli* | méprisant*"
        "| courtois* | gentil* | otrevlig* | trevlig* | oförskämd* | vänlig* | ovänlig* | bemötande*"
        "| dryg* | otrevliga | artig* | груб* | хам* | вежлив* | невежлив* | приветлив*"
        "| доброжелат* | отношени* | улыб* | unfreundlich* | freundlich* | unhöflich* | höflich*"
        "| frech* | pampig* | herablassend* | grosero* | maleducad* | amable* | antipátic*"
        "| simpátic* | borde* | trato",
        [
            "The woman at the counter was rude and rolled her eyes at me.",
            "Le serveur était très aimable et souriant.",
            "Personalen var otrevlig och svarade inte ens på frågan.",
            "Оператор разговаривал со мной грубо и высокомерно.",
            "Der Mitarbeiter war unfreundlich und hat mich angeschrien.",
            "La chica de recepción fue muy amable con nosotros.",
        ],
    ),
    _spec(
        "staff_competence",
        "Staff competence",
        "Whether staff know what they are doing: correct answers, skill, solving the problem.",
        "incompeten* | competen* | clueless | no idea | didn't know | knowledgeable | expert*"
        "| professional* | unprofessional* | wrong information | knew exactly | sorted it"
        "| incompéten* | compétent* | aucune idée | professionnel* | mal informé* | mal renseigné*"
        "| inkompetent* | kompetent* | okunnig* | kunnig* | ingen aning | professionell*"
        "| некомпетент* | компетент* | профессионал* | непрофессионал* | не знал* | не знают"
        "| разбира* | inkompetent* | kompetent* | ahnungslos* | keine ahnung | fachkundig*"
        "| professionell* | unprofessionell* | beratung* | incompetent* | competent* | ni idea"
        "| profesional* | no sabía* | no saben | capacitad*",
        [
            "The agent had no idea how to fix it and gave me wrong information.",
            "Le technicien était compétent et a réglé le problème en dix minutes.",
            "Killen i kassan var helt okunnig om sina egna produkter.",
            "Консультант некомпетентный, не смог ответить на простой вопрос.",
            "Die Beratung war kompetent, er wusste genau, was zu tun war.",
            "El técnico no sabía lo que hacía y lo dejó peor.",
        ],
    ),
    _spec(
        "self_service",
        "Self-service, app and website",
        "Apps, websites, online accounts, chatbots, phone menus and machines customers use alone.",
        "app | apps | website* | web site | site | online | phone menu | automated | chatbot*"
        "| bot | login | log in | password | portal | self-service | self service | kiosk*"
        "| appli* | application | site web | site internet | serveur vocal | en ligne"
        "| connexion | identifiant* | mot de passe | borne* | appen | hemsida* | webbsida*"
        "| webbplats* | sajt* | inloggning* | logga in | lösenord* | bankid | chattbot* | knappval"
        "| приложени* | сайт* | личн* кабинет* | чат-бот* | бот* | автоответчик* | онлайн | пароль"
        "| войти | интернет-банк* | webseite* | homepage | portal* | sprachmenü* | einlogg*"
        "| passwort* | automat* | aplicaci* | página web | web | en línea | contraseña"
        "| iniciar sesión | contestador* | menú | cajero*",
        [
            "The app crashes every time I try to log in.",
            "Impossible de me connecter sur le site, le mot de passe est refusé.",
            "Appen fungerar inte och hemsidan laddar aldrig.",
            "В приложении не работает оплата, личный кабинет не открывается.",
            "Der Fahrkartenautomat nimmt keine Karten und die App stürzt ab.",
            "La aplicación no me deja iniciar sesión desde hace días.",
            "The phone menu sent me round in circles, press 1, press 3, back to the start.",
        ],
    ),
    _spec(
        "repeat_information",
        "Repeating information",
        "Having to explain the same problem or give the same details again and again.",
        "repeat* | again and again | explain* again | same question* | from scratch | start over"
        "| every time i call | re-enter* | all over again | the whole story"
        "| répét* | réexpliqu* | encore et encore | à chaque fois | recommencer | tout réexpliquer"
        "| upprep* | om och om igen | förklara igen | berätta igen | varje gång | börja om"
        "| samma sak igen | повтор* | заново | снова и снова | каждый раз | объяснять"
        "| wiederhol* | immer wieder | von vorne | jedes mal | noch einmal erklär*"
        "| repet* | una y otra vez | desde cero | volver a explicar | de nuevo",
        [
            "Every time I call I have to explain the whole story again.",
            "J'ai dû répéter mon numéro de client à quatre personnes différentes.",
            "Jag fick förklara samma sak igen för varje ny handläggare.",
            "Каждый раз приходится заново объяснять проблему.",
            "Ich musste meine Daten dreimal wiederholen.",
            "Tuve que repetir mis datos una y otra vez.",
        ],
    ),
    _spec(
        "ownership",
        "Ownership and follow-up",
        "Nobody takes responsibility: passed between departments, no call back, no follow-up.",
        "nobody | no one | passed around | transferred | not my department | responsib*"
        "| follow up | follow-up | followed up | never called back | call back | called back"
        "| ping-pong | blame* | escalat* | personne ne | personne n'| responsab* | renvoy*"
        "| rappel* | suivi | transféré* | balad* | ingen tar | ansvar* | bollad* | skickas runt"
        "| återkom* | ringde aldrig tillbaka | hänvisa* | никто не | ответственн* | футбол*"
        "| перезвон* | отправля* в | пересыла* | niemand | zuständig* | verantwortlich*"
        "| hin und her | weitergeleitet | weiterverbunden | rückruf* | zurückgerufen"
        "| verwiesen | nadie | responsab* | de un lado a otro | seguimiento | derivad*"
        "| me remitieron | me pasaban",
        [
            "Nobody takes responsibility, the shop blames the courier and the courier blames the shop.",
            "On m'a renvoyé d'un service à l'autre et personne ne m'a rappelé.",
            "Jag blev bollad mellan avdelningar och ingen återkom.",
            "Меня футболят из отдела в отдел, никто не перезвонил.",
            "Niemand fühlt sich zuständig, ich werde nur weitergeleitet.",
            "Nadie se hace responsable y nunca me devolvieron la llamada.",
        ],
    ),
    _spec(
        "contact_cost",
        "Cost of contacting support",
        "Paying to reach support: premium-rate numbers, per-minute charges, paid hotlines.",
        "premium rate | premium-rate | per minute | a minute to call | cost* to call | call cost*"
        "| charged for calling | paid hotline | 0900 | 0870 | numéro surtaxé | surtax* | payant"
        "| la minute | coût de l'appel | prix de l'appel | per minut | betalsamtal | kostar att ringa"
        "| samtalskostnad* | dyrt att ringa | платн* номер* | платн* лини* | за минуту"
        "| стоимость звонка | звонок стоит | kostenpflichtig* | pro minute | 0180* | gebührenpflichtig*"
        "| teure hotline | por minuto | 902 | línea de pago | tarificaci* | llamada de pago"
        "| cuesta llamar | coste de la llamada",
        [
            "Their hotline is a premium rate number, I paid 12 pounds just to wait.",
            "Le service client est un numéro surtaxé à 0,80 € la minute.",
            "Det kostar 15 kronor per minut att ringa kundtjänst.",
            "Горячая линия платная, звонок стоит как полноценный тариф.",
            "Die Hotline ist kostenpflichtig, 14 Cent pro Minute.",
            "El teléfono de atención es un 902 de pago por minuto.",
        ],
    ),
    _spec(
        "delivery",
        "Delivery and logistics",
        "Shipping, couriers, parcels, tracking, late, lost or damaged deliveries.",
        "deliver* | shipping | shipment* | shipped | parcel* | package* | courier* | tracking"
        "| dispatch* | postage | never arrived | arrived | livr* | colis | transporteur*"
        "| expédi* | leverans* | levere* | paket* | frakt* | budet | postnord | spårning*"
        "| доставк* | достав* | курьер* | посылк* | отправлени* | трек* | liefer* | versand*"
        "| zustell* | dhl | hermes | sendung* | kurier* | entreg* | envío* | envio*"
        "| paquete* | mensajer* | repartidor*",
        [
            "The parcel arrived a week late and the box was crushed.",
            "Livraison rapide, colis reçu en deux jours.",
            "Paketet kom aldrig fram och spårningen har inte uppdaterats.",
            "Курьер привёз заказ вовремя, доставка отличная.",
            "Die Lieferung kam pünktlich, der Paketbote war super.",
            "El paquete llegó roto y el repartidor lo dejó en la calle.",
        ],
    ),
    _spec(
        "returns_refunds",
        "Returns and refunds",
        "Sending products back, exchanges, refunds and getting money back.",
        "refund* | money back | reimburs* | return policy | returns | return it | returned it"
        "| returned the | return the | send it back | sent it back | exchange* | chargeback"
        "| rembours* | retour* | échange* | återbetal* | retur* | pengarna tillbaka | ångerrätt*"
        "| reklamation* | возврат* | вернуть деньги | вернули деньги | деньги назад | компенсац*"
        "| обмен* | rückerstatt* | erstatt* | rücksend* | geld zurück | umtausch* | entschädigung*"
        "| reembols* | devoluci* | devolv* | me devuelvan",
        [
            "Still waiting for my refund six weeks after I sent it back.",
            "Retour accepté sans problème, remboursé en trois jours.",
            "Jag har fortfarande inte fått pengarna tillbaka för returen.",
            "Возврат денег оформили быстро, без лишних вопросов.",
            "Die Rückerstattung dauert schon zwei Monate.",
            "La devolución fue fácil y me reembolsaron enseguida.",
        ],
    ),
    _spec(
        "price_billing",
        "Price and billing",
        "Prices, value for money, bills, invoices, fees, charges and subscriptions.",
        "price* | pricing | expensive | cheap* | overpriced | value for money | bill | billed"
        "| billing | invoice* | charged | charge | fee | fees | overcharg* | subscription* | costs"
        "| prix | cher | chère | chers | factur* | rapport qualité | tarif* | frais | abonnement*"
        "| pris | priset | priser | dyr* | billig* | faktur* | avgift* | kostnad* | prisvärd*"
        "| abonnemang* | цен* | дорог* | дешев* | счёт* | тариф* | комисси* | списа* | переплат*"
        "| preis* | teuer* | rechnung* | gebühr* | kosten | abbuchung* | abo | tarif* | ticket*"
        "| fahrkarte* | precio* | caro | cara | caros | caras | barat* | factur* | cobr*"
        "| tarifa* | relación calidad | comisi* | cuota*",
        [
            "They charged me twice on my card and the invoice is wrong.",
            "Trop cher pour ce que c'est, le rapport qualité-prix est mauvais.",
            "Fakturan var dubbelt så hög som avtalat.",
            "С карты списали деньги дважды, а тариф подняли без предупреждения.",
            "Die Preise sind viel zu hoch für so wenig Leistung.",
            "Muy buen precio para la calidad que ofrecen.",
        ],
    ),
    _spec(
        "product_quality",
        "Product quality",
        "How good the product or food is: broken, defective, durable, tasty, well made.",
        "quality | broke | broken | defect* | faulty | durable | works perfectly | stopped working"
        "| fell apart | flimsy | food | taste* | tasty | delicious | meal* | dish* | bland"
        "| qualité | cassé* | défectu* | plat | plats | nourriture | goût* | délicieu* | savoureu*"
        "| cuisine | repas | fade* | kvalitet* | trasig* | sönder | defekt* | maten | smak*"
        "| качеств* | сломал* | брак* | бракован* | вкус* | еда | блюд* | qualität* | kaputt*"
        "| mangelhaft* | essen | geschmack* | lecker* | gericht* | calidad* | roto | rota"
        "| defectuos* | comida | sabor* | delicios* | plato* | se rompió",
        [
            "The kettle broke after two weeks, really poor quality.",
            "Les plats étaient délicieux et bien présentés.",
            "Jackan gick sönder efter första tvätten.",
            "Качество товара отличное, всё работает как надо.",
            "Das Essen war kalt und hat nach nichts geschmeckt.",
            "La comida estaba riquísima, todo muy fresco.",
        ],
    ),
    _spec(
        "cleanliness",
        "Cleanliness",
        "Clean or dirty premises, rooms, vehicles, toilets; smells, stains and hygiene.",
        "clean* | dirty | dirt | filthy | stain* | smell* | stink* | hygien* | dust* | mould"
        "| mold | cockroach* | toilet* | propre* | sale | sales | saleté* | crasse* | odeur*"
        "| hygièn* | poussière* | puant* | toilette* | ren | rent | rena | städ* | smuts*"
        "| lukt* | stank* | toalett* | dammig* | чист* | грязн* | грязь | запах* | воня*"
        "| антисанитар* | гигиен* | пыль* | туалет* | sauber* | schmutzig* | dreck* | verdreckt*"
        "| schmudd* | gestank* | stink* | toilett* | klo | limpi* | suci* | olor* | apest*"
        "| higien* | polvo | cucarach*",
        [
            "The bathroom was filthy and the sheets had stains.",
            "Chambre très propre, ménage fait tous les jours.",
            "Toaletterna var smutsiga och det luktade illa.",
            "В зале грязно, на столах крошки, пахнет затхлым.",
            "Die Toiletten im Zug waren verdreckt und stanken.",
            "La habitación estaba impecable, todo muy limpio.",
        ],
    ),
    _spec(
        "privacy",
        "Privacy and data",
        "Personal data: consent, leaks, spam, sharing or selling customer data, GDPR requests.",
        "privacy | personal data | my data | gdpr | data breach | leak* | spam* | sold my"
        "| consent | données personnelles | mes données | rgpd | vie privée | confidentialit*"
        "| fuite* | démarchage* | personuppgift* | integritet* | dataläck* | mina uppgifter"
        "| samtycke* | персональн* данн* | мои данные | утечк* | конфиденциальн* | спам*"
        "| без согласия | datenschutz* | persönlich* daten | meine daten | dsgvo | datenleck*"
        "| einwilligung* | privacidad | datos personales | mis datos | filtraci*"
        "| sin consentimiento",
        [
            "They shared my personal data with a marketing company without my consent.",
            "Depuis mon inscription je reçois du démarchage, ils ont vendu mes données.",
            "Mina personuppgifter läckte ut i ett dataintrång.",
            "Мои персональные данные передали третьим лицам без согласия.",
            "Trotz Widerspruch werden meine Daten weiter für Werbung genutzt.",
            "Pedí borrar mis datos personales y siguen enviándome publicidad.",
        ],
    ),
)

BUILTIN_KEYS: tuple[str, ...] = tuple(t.key for t in BUILTIN_TOPICS)
