"""The planner's vocabulary as plain data: platform aliases, campaign types, objectives, content types
and the platform/content -> capability mapping. Patterns are case-insensitive regular expressions
unless a name says otherwise; the extraction code in `offline.py` compiles them.
"""

from __future__ import annotations

from typing import Final, get_args

from spreaders.planner.schemas import CampaignType, Capability, ContentType

# Words for paid ads after a platform name ("Instagram ads", "Facebook-Werbung", "LinkedIn-Anzeigen").
AD_SUFFIX: Final = (
    r"(?:\s+(?:event|video|display|search|story|stories|carousel|lead|shopping|feed|reels?|image|photo|"
    r"banner|retargeting|dynamic|sponsored))?[\s-](?:ads?|adverts?|advertising|werbung|anzeigen?|werbeanzeigen)"
)
# Platform aliases. Longer phrases win over shorter ones at the same position ("facebook ads" beats
# "facebook"); ad products of Meta (Instagram/Facebook ads) map to facebook_ads, YouTube ads to google_ads.
PLATFORM_ALIASES: Final[tuple[tuple[str, str], ...]] = (
    (rf"(?:instagram|insta|ig|facebook|fb|meta){AD_SUFFIX}", "facebook_ads"),
    (
        rf"(?:google|youtube){AD_SUFFIX}|google\s+adwords|adwords",
        "google_ads",
    ),
    (rf"linked\s?in{AD_SUFFIX}", "linkedin_ads"),
    (rf"tik\s?-?tok{AD_SUFFIX}", "tiktok_ads"),
    (r"instagram|insta|ig", "instagram"),
    (r"facebook|fb", "facebook"),
    (r"twitter|tweets?|x\.com", "twitter"),
    (r"linked\s?in", "linkedin"),
    (r"tik\s?-?tok", "tiktok"),
    (r"youtube|yt", "youtube"),
    (r"pinterest", "pinterest"),
    (
        r"e-?mails?(?:\s+blasts?)?|email\s+list|newsletters?|mailing\s+list|mailchimp|klaviyo|"
        r"correos?(?:\s+electr[oó]nicos?)?|bolet[ií]n(?:es)?|rundbrief|mailings?",
        "email",
    ),
    (r"sms|text\s+messages?", "sms"),
    (r"blog(?:s|\s+posts?)?", "blog"),
    (r"telegram", "telegram"),
    (r"discord", "discord"),
    (r"slack", "slack"),
    (r"whats\s?app", "whatsapp"),
    (r"reddit", "reddit"),
    (r"snapchat", "snapchat"),
    (r"bluesky", "bluesky"),
    (r"spotify", "spotify"),
    (r"threads\.net", "threads"),
)
# Case-sensitive aliases for names that are also common lowercase words ("Threads" the app, "threads").
CASED_PLATFORM_ALIASES: Final[tuple[tuple[str, str], ...]] = ((r"Threads", "threads"),)
# Ad products of a platform, for "ads on Instagram and TikTok" / "anuncios en Instagram y TikTok".
AD_PRODUCTS: Final[dict[str, str]] = {
    "instagram": "facebook_ads",
    "facebook": "facebook_ads",
    "youtube": "google_ads",
    "linkedin": "linkedin_ads",
    "tiktok": "tiktok_ads",
}
ADS_ON: Final = (
    r"\b(?:ads?|adverts?|advertising|anuncios?|publicidad|anzeigen|werbung|werbeanzeigen)\s+"
    r"(?:on|in|en|auf|bei|via)\s+$"
)
# Platform names a misspelling is corrected to ("instgram", "Facebok", "newsleter"): a word within edit
# distance 1 (2 for words of 9+ letters) of one of these, starting with the same letter.
TYPO_TARGETS: Final[tuple[str, ...]] = (
    "instagram",
    "facebook",
    "linkedin",
    "youtube",
    "tiktok",
    "pinterest",
    "twitter",
    "snapchat",
    "telegram",
    "whatsapp",
    "newsletter",
    "spotify",
)
# Real words a typo correction must leave alone.
NOT_TYPOS: Final[frozenset[str]] = frozenset({"twister", "twitted", "twitter's"})

# "X" is matched only as a capital word in platform context ("on X", "X and LinkedIn", "Instagram, X").
X_PLATFORM: Final = "twitter"
X_CONTEXT_BEFORE: Final = r"(?:\b(?:on|to|via|across|onto)\s+(?:the\s+)?$)"
X_LIST_SEPARATORS: Final = r"\s*(?:,|&|/|\+|\b(?:and|or|plus|y|e|o|und|oder|sowie)\b)\s*"

SOCIAL_PLATFORMS: Final[frozenset[str]] = frozenset(
    {
        "instagram",
        "facebook",
        "twitter",
        "linkedin",
        "tiktok",
        "youtube",
        "pinterest",
        "blog",
        "telegram",
        "discord",
        "slack",
        "whatsapp",
        "reddit",
        "snapchat",
        "bluesky",
        "threads",
        "spotify",
    }
)
AD_PLATFORMS: Final[frozenset[str]] = frozenset({"google_ads", "facebook_ads", "linkedin_ads", "tiktok_ads"})
EMAIL_PLATFORMS: Final[frozenset[str]] = frozenset({"email"})

# Words saying money goes to advertising (so a budget implies an ad campaign).
AD_WORDS: Final = (
    r"\b(?:ads?|advert(?:s|ising|isements?)?|paid|sponsored|boost(?:ed)?|promoted\s+posts?|ppc|cpc|"
    r"retarget\w*|remarketing|ad\s+spend|werbung|werbebudget|anzeigen?|anuncios?|publicidad|"
    r"patrocinad\w*|gesponsert\w*)\b"
)

# Holidays and seasons, for seasonal sales (English, German, Spanish).
HOLIDAYS: Final = (
    r"black[\s-]+friday|cyber[\s-]+monday|boxing\s+day|prime\s+day|back[\s-]+to[\s-]+school|christmas|xmas|"
    r"halloween|valentine'?s?(?:\s+day)?|easter|mother'?s\s+day|father'?s\s+day|thanksgiving|diwali|hanukkah|"
    r"ramadan|eid|(?:lunar|chinese)\s+new\s+year|new\s+year'?s?(?:\s+eve|\s+day)?|fourth\s+of\s+july|"
    r"july\s+4(?:th)?|4th\s+of\s+july|independence\s+day|memorial\s+day|labou?r\s+day|singles'?\s+day|"
    r"st\.?\s+patrick'?s(?:\s+day)?|weihnacht\w*|oster\w*|muttertag\w*|vatertag\w*|valentinstag\w*|"
    r"neujahr\w*|silvester\w*|navidad\w*|san\s+valent[ií]n|d[ií]a\s+de\s+(?:la\s+madre|el\s+padre|san\s+valent[ií]n)|"
    r"a[ñn]o\s+nuevo|semana\s+santa|buen\s+fin"
)
SEASONS: Final = (
    r"summer|winter|spring|autumn|fall|holiday|holidays|festive|seasonal|end[\s-]+of[\s-]+season|"
    r"january|february|march|april|june|july|august|september|october|november|december|"
    r"sommer\w*|winter\w*|fr[üu]hlings?\w*|fr[üu]hjahrs?\w*|herbst\w*|verano|invierno|primavera|oto[ñn]o|"
    r"navide[ñn]\w*|fiestas"
)
SALE_WORDS: Final = (
    r"sales?|promos?|promotions?|deals?|offers?|discounts?|specials?|angebote?|aktion(?:en)?|"
    r"rabatt\w*|schlussverkauf|rebajas|ofertas?|promoci[oó]n|descuentos?"
)
# Seasons that make any campaign seasonal ("holiday campaign", "campaña navideña").
FESTIVE: Final = r"holiday|holidays|festive|navide[ñn]\w*|weihnachtlich\w*"
CAMPAIGN_WORDS: Final = r"campaigns?|kampagnen?|campa[ñn]as?"
# Words before a holiday saying it is a deadline ("by Black Friday"), not the campaign's occasion.
_NOT_OCCASION_BEFORE: Final = (
    r"(?<!\bby\s)(?<!\bbefore\s)(?<!\buntil\s)(?<!\btill\s)(?<!\bbis\s)(?<!\bvor\s)(?<!\bzum\s)"
    r"(?<!\bhasta\s)(?<!\bantes\sde\s)(?<!\bahead\sof\s)"
)
# Nouns after a holiday that make it an event ("New Year's Eve party", "Easter egg hunt").
_EVENT_NOUNS: Final = (
    r"party|parties|dinner|brunch|lunch|hunt|concert|gala|ball|feier|fiesta|cena|markt|market|parade|meetup"
)

# Campaign types in priority order: the first type with a matching pattern wins, else "general".
CAMPAIGN_TYPE_PATTERNS: Final[tuple[tuple[CampaignType, tuple[str, ...]], ...]] = (
    (
        "seasonal_sale",
        (
            rf"{_NOT_OCCASION_BEFORE}(?:{HOLIDAYS})(?![\w'-]*(?:\s+[\w'-]+){{0,2}}\s+(?:{_EVENT_NOUNS})\b)",
            rf"(?:{SEASONS})(?:[\s-]+[\w'-]+){{0,2}}?[\s-]+(?:{SALE_WORDS})\b",
            rf"(?:{SALE_WORDS})\s+(?:de|del|zu[mr]?|f[üu]r|for)\s+(?:(?:la|el|the|den|die)\s+)?(?:{SEASONS})\b",
            rf"(?:{FESTIVE})(?:[\s-]+[\w'-]+){{0,2}}?[\s-]+(?:{CAMPAIGN_WORDS})\b",
            rf"(?:{CAMPAIGN_WORDS})\s+(?:[\w-]+\s+)?(?:{FESTIVE})\b",
            r"rebajas|schlussverkauf",
        ),
    ),
    (
        "re_engagement",
        (
            r"re-?engage\w*|win[- ]?back|lapsed|inactive|dormant|churned|bring\s+back|retarget\w*|"
            r"remarketing|cart\s+abandon\w*|abandoned\s+carts?|haven'?t\s+(?:ordered|bought|purchased|logged|visited)|"
            r"zur[üu]ckgewinn\w*|reaktivier\w*|inaktive\w*|recuperar|reactivar|inactiv[oa]s",
        ),
    ),
    # A periodic newsletter is the campaign itself, whatever it promotes ("weekly newsletter with deals").
    (
        "newsletter",
        (
            r"(?:weekly|monthly|bi-?weekly|daily|quarterly|w[öo]chentlich\w*|monatlich\w*)\s+newsletters?|"
            r"(?:newsletters?|bolet[ií]n(?:es)?)\s+(?:semanal|mensual|quincenal|diario|trimestral)\b",
        ),
    ),
    (
        "webinar",
        (
            r"webinars?|live\s?streams?|virtual\s+(?:event|workshop|summit)|online\s+workshop|"
            r"seminarios?\s+(?:web|en\s+l[ií]nea|online)",
        ),
    ),
    (
        "lead_generation",
        (
            r"leads?\b|lead[- ]gen\w*|demo\s+requests?|book\s+(?:a\s+)?demos?|free\s+trials?|lead\s+magnet|"
            r"whitepaper|appointments|enquir(?:y|ies)|inquir(?:y|ies)|quote\s+requests?|consultations|"
            r"clientes\s+potenciales|captaci[oó]n|interessenten|anfragen",
        ),
    ),
    (
        "product_launch",
        (
            r"launch(?:es|ing|ed)?\b(?!\s+(?:(?:a|an|the|our|my|this)\s+)?(?:[\w-]+\s+){0,3}(?:campaign|ads?)\b)",
            r"(?<!price\s)\bdrops?\b(?!\s+(?:prices?|by)\b)|dropping\b",
            r"new\s+(?:[\w-]+\s+){0,2}?(?:products?|collections?|lines?|releases?|flavou?rs?|models?|apps?|"
            r"features?|menus?|season|range|versions?|books?|albums?|games?|courses?|services?|editions?)\b",
            r"announc\w*\s+(?:our|the|my)\s+(?:[\w-]+\s+){0,2}?(?:collection|product|line|app|release|menu)\b",
            r"product\s+launch|release|unveil\w*|introducing|debut\w*|pre-?orders?|premier\w*",
            r"produkteinf[üu]hrung|markteinf[üu]hrung|neue[nrs]?\s+(?:[\w-]+\s+){0,2}?(?:kollektion|produkt\w*|app|"
            r"linie|version|modell)\b|vorstell\w*",
            r"lanza\w*|lanzamiento|estreno|nuev[oa]s?\s+(?:[\w-]+\s+){0,2}?(?:colecci[oó]n|l[ií]nea|app|"
            r"productos?|modelo|versi[oó]n|sabor)\b",
        ),
    ),
    (
        "event",
        (
            r"events?\b|conference|meetup|festival|concert|grand\s+opening|open\s+house|pop-?up|"
            r"workshop|trade\s+show|launch\s+party|tasting|retreat|hackathon|(?<![\w-])party\b|celebration|"
            r"anniversary|birthday|gala\b|summer\s+camp|\bcamp\b|\brace\b|marathon|jubil[äa]\w*|"
            r"er[öo]ffnung|veranstaltung|tag\s+der\s+offenen\s+t[üu]r|feier\b|evento|fiesta|inauguraci[oó]n|"
            r"aniversario|cumplea[ñn]os",
        ),
    ),
    (
        "promotion",
        (
            r"promo(?:tion)?s?\b|discounts?|\d+\s?%\s+off|deals?\b|coupons?|offers?\b|flash\s+sale|bogo|sale\b|"
            r"giveaways?|contests?|sweepstakes|early\s+access|sell\s+more|more\s+sales|boost\s+sales|"
            r"gewinnspiel\w*|rabatt\w*|aktion\b|angebot\w*|gutschein\w*|sorteo|concurso|descuentos?|ofertas?|"
            r"promoci[oó]n|\d+\s?x\s?\d+\b",
        ),
    ),
    (
        "content_marketing",
        (
            r"content\s+marketing|blog\s+posts?|articles?|seo\b|thought\s+leadership|podcasts?|"
            r"case\s+stud(?:y|ies)|guides?\b|recipes?|tutorials?|how-?tos?\b|video\s+series|"
            r"art[ií]culos?|blogartikel|fallstudie\w*|ratgeber|gu[ií]as?\b",
        ),
    ),
    ("newsletter", (r"newsletters?|weekly\s+digest|monthly\s+update|bolet[ií]n|rundbrief",)),
    (
        "brand_awareness",
        (
            r"awareness|visibility|brand(?:ing)?\b|get\s+(?:our|my|the)\s+name\s+out|markenbekanntheit|"
            r"bekanntheit|sichtbarkeit|concienciaci[oó]n|notoriedad|visibilidad|reconocimiento",
        ),
    ),
)

# Objectives in output order, with the words that evidence each.
OBJECTIVE_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    ("drive_sales", r"\b(?:sales?|sell\w*|revenue|purchases?|orders?|conversions?|buy\w*)\b"),
    ("grow_awareness", r"\b(?:awareness|visibility|reach|get\s+the\s+word\s+out|recognition|buzz)\b"),
    ("generate_leads", r"\b(?:leads?|lead[- ]gen\w*|prospects?|demo\s+requests?)\b"),
    ("grow_engagement", r"\b(?:engagement|engage|likes|comments|community|interactions?|followers)\b"),
    (
        "drive_traffic",
        r"\b(?:traffic|visits|visitors|clicks|to\s+(?:our|my|the)\s+(?:web)?(?:site|store|shop))\b",
    ),
    (
        "grow_subscribers",
        r"\b(?:grow|gain|get|more|new|increase|build)\s+(?:our\s+|my\s+|the\s+)?(?:\w+\s+)?"
        r"(?:subscribers|subscriptions|sign[- ]?ups|mailing\s+list)\b",
    ),
    ("drive_registrations", r"\b(?:regist\w*|rsvps?|tickets?|attendees|attendance|sign\s+up\s+for)\b"),
    ("retain_customers", r"\b(?:retention|retain|loyalty|win[- ]?back|repeat\s+(?:customers|purchases))\b"),
    ("drive_downloads", r"\b(?:downloads?|installs?|app\s+store)\b"),
)
OBJECTIVE_ORDER: Final[tuple[str, ...]] = tuple(name for name, _ in OBJECTIVE_PATTERNS)

TYPE_OBJECTIVES: Final[dict[CampaignType, tuple[str, ...]]] = {
    "product_launch": ("drive_sales", "grow_awareness"),
    "promotion": ("drive_sales",),
    "brand_awareness": ("grow_awareness",),
    "event": ("grow_awareness", "drive_registrations"),
    "webinar": ("generate_leads", "drive_registrations"),
    "lead_generation": ("generate_leads",),
    "re_engagement": ("grow_engagement", "retain_customers"),
    "seasonal_sale": ("drive_sales",),
    "newsletter": ("grow_engagement", "drive_traffic"),
    "content_marketing": ("grow_awareness", "drive_traffic"),
    "general": ("grow_awareness",),
}

# Content types in output order, with the words that ask for each.
CONTENT_PATTERNS: Final[tuple[tuple[ContentType, str], ...]] = (
    (
        "images",
        r"\b(?:images?|photos?|pictures?|visuals?|graphics?|carousels?|infographics?|pins|bilder\w*|"
        r"fotos?|grafiken?|im[áa]genes|imagen|gr[áa]ficos?)\b",
    ),
    ("videos", r"\b(?:videos?|clips?|footage|shorts|v[íi]deos?)\b"),
    (
        "copy",
        r"\b(?:copy|captions?|copywriting|posts?|beitr[äa]ge?|texte?|publicaciones|publicaci[oó]n|textos?)\b",
    ),
    ("stories", r"\bstor(?:y|ies)\b|\bhistorias\b"),
    ("reels", r"\breels?\b"),
    ("blog_posts", r"\b(?:blog\s+posts?|articles?|blogs?|blogartikel|art[íi]culos?|artikel)\b"),
    ("email_copy", r"\b(?:e-?mails?|newsletters?|correos?|bolet[íi]n(?:es)?|rundbrief|mailings?)\b"),
    (
        "ad_creatives",
        r"\b(?:ad\s+creatives?|banners?|ads?|display\s+ads?|anzeigen?|werbung|werbeanzeigen|anuncios?)\b",
    ),
    (
        "landing_page",
        r"\b(?:landing\s?pages?|sign-?up\s+pages?|registration\s+pages?|microsite|p[áa]gina\s+de\s+aterrizaje|"
        r"zielseite)\b",
    ),
    ("hashtags", r"(?:\bhashtags?\b|#\w+)"),
)
CONTENT_ORDER: Final[tuple[ContentType, ...]] = tuple(name for name, _ in CONTENT_PATTERNS)

PLATFORM_CONTENT: Final[dict[str, tuple[ContentType, ...]]] = {
    "instagram": ("images", "hashtags"),
    "facebook": ("images",),
    "twitter": ("hashtags",),
    "linkedin": ("images",),
    "tiktok": ("videos", "hashtags"),
    "youtube": ("videos",),
    "pinterest": ("images",),
    "snapchat": ("images", "videos"),
    "email": ("email_copy",),
    "blog": ("blog_posts",),
    "threads": ("hashtags",),
    "google_ads": ("ad_creatives",),
    "facebook_ads": ("ad_creatives", "images"),
    "linkedin_ads": ("ad_creatives", "images"),
    "tiktok_ads": ("ad_creatives", "videos"),
}
# Content a content type brings with it (reels are videos, stories are images).
CONTENT_IMPLIES: Final[dict[ContentType, tuple[ContentType, ...]]] = {
    "reels": ("videos",),
    "stories": ("images",),
}
TYPE_CONTENT: Final[dict[CampaignType, tuple[ContentType, ...]]] = {
    "lead_generation": ("landing_page",),
    "webinar": ("landing_page",),
    "event": ("landing_page",),
}

CAPABILITY_ORDER: Final[tuple[Capability, ...]] = get_args(Capability)
CONTENT_CAPABILITY: Final[dict[ContentType, Capability]] = {
    "images": "content_generation_image",
    "stories": "content_generation_image",
    "ad_creatives": "content_generation_image",
    "videos": "content_generation_video",
    "reels": "content_generation_video",
    "copy": "content_generation_text",
    "blog_posts": "content_generation_text",
    "email_copy": "content_generation_text",
    "landing_page": "content_generation_text",
    "hashtags": "content_generation_text",
}
# Types whose sign-ups are leads to capture and sync to a CRM.
LEAD_TYPES: Final[frozenset[CampaignType]] = frozenset({"lead_generation", "webinar"})

# Audience vocabulary.
GENERATIONS: Final[dict[str, tuple[int, int]]] = {  # birth years, turned into ages at the reference date
    r"gen(?:eration)?\s*z|zoomers": (1997, 2012),
    r"millennials?|gen(?:eration)?\s*y": (1981, 1996),
    r"gen(?:eration)?\s*x": (1965, 1980),
    r"(?:baby\s+)?boomers": (1946, 1964),
}
AGE_GROUPS: Final[dict[str, tuple[int | None, int | None]]] = {
    r"teens|teenagers": (13, 19),
    r"young\s+adults": (18, 25),
    r"seniors|retirees": (65, None),
}
SEGMENT_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    ("existing_customers", r"existing\s+customers|current\s+customers|past\s+customers|our\s+customers"),
    ("new_customers", r"new\s+customers|first[- ]time\s+(?:buyers|customers)"),
    ("loyal_customers", r"loyal\s+customers|vips?\b|loyalty\s+members|repeat\s+customers"),
    ("lapsed_customers", r"(?:lapsed|inactive|dormant|churned|former)\s+(?:customers|users|subscribers)"),
    ("subscribers", r"our\s+(?:e-?mail\s+|mailing\s+)?list|subscribers|mailing\s+list"),
    ("followers", r"(?:our|my)\s+followers|fans\s+of\s+(?:our|the)\s+(?:brand|page)"),
    ("cart_abandoners", r"abandoned\s+carts?|cart\s+abandoners"),
    ("trial_users", r"trial\s+users"),
    ("students", r"students"),
    ("parents", r"parents|moms|dads|mums"),
    ("small_businesses", r"small\s+business(?:es)?|smbs?\b|smes?\b"),
    ("professionals", r"professionals|decision[- ]makers|b2b\b|executives"),
)
# Interest nouns people are described by -> the interest.
INTEREST_NOUNS: Final[dict[str, str]] = {
    "runners": "running",
    "joggers": "running",
    "sneakerheads": "sneakers",
    "gamers": "gaming",
    "foodies": "food",
    "golfers": "golf",
    "cyclists": "cycling",
    "bikers": "cycling",
    "yogis": "yoga",
    "hikers": "hiking",
    "travelers": "travel",
    "travellers": "travel",
    "bookworms": "books",
    "readers": "books",
    "fashionistas": "fashion",
    "athletes": "sports",
    "gym-goers": "fitness",
    "photographers": "photography",
    "musicians": "music",
    "developers": "software development",
    "designers": "design",
    "skaters": "skateboarding",
    "surfers": "surfing",
    "climbers": "climbing",
    "vegans": "vegan food",
    "dog owners": "dogs",
    "cat owners": "cats",
    "pet owners": "pets",
    "home cooks": "cooking",
    "bakers": "baking",
}
INTEREST_SUFFIXES: Final = (
    r"fans|lovers|enthusiasts|addicts|junkies|buffs|geeks|nerds|aficionados|collectors|fanatics"
)
INTEREST_STOPWORDS: Final[frozenset[str]] = frozenset(
    {
        "our",
        "my",
        "the",
        "all",
        "new",
        "loyal",
        "big",
        "your",
        "their",
        "many",
        "real",
        "existing",
        "and",
        "or",
        "for",
    }
    | {"to", "of", "with", "at", "among", "by", "other", "fellow", "local"}
)

# People nouns an age range can follow ("women 30-50").
PEOPLE_NOUNS: Final = (
    r"women|men|people|adults|users|parents|customers|moms|dads|mums|students|professionals|homeowners|"
    r"players|gamers|fans|frauen|m[äa]nner|menschen|eltern|kunden|mujeres|hombres|j[óo]venes|personas|padres"
)
# Capitalised words after "in"/"across" that are not places.
NOT_LOCATIONS: Final[frozenset[str]] = frozenset(
    {
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "spring",
        "summer",
        "autumn",
        "fall",
        "winter",
        "q1",
        "q2",
        "q3",
        "q4",
        "christmas",
        "easter",
        "english",
        "german",
        "french",
        "spanish",
        "i",
        "usd",
        "eur",
        "gbp",
        "chf",
        "the",
        "our",
        "black",
        "cyber",
        "stories",
        "reels",
        "gen",
        "generation",
        "millennials",
        "q",
    }
    # German and Spanish months and weekdays, and a few capitalised German nouns.
    | {
        "januar",
        "februar",
        "märz",
        "mai",
        "juni",
        "juli",
        "oktober",
        "dezember",
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
        "montag",
        "dienstag",
        "mittwoch",
        "donnerstag",
        "freitag",
        "samstag",
        "sonntag",
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
        "navidad",
        "weihnachten",
        "ostern",
    }
)

# Money: currency markers -> ISO 4217.
CURRENCY_CODES: Final[dict[str, str]] = {
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "₹": "INR",
    "inr": "INR",
    "chf": "CHF",
    "franc": "CHF",
    "francs": "CHF",
    "cad": "CAD",
    "aud": "AUD",
    "yen": "JPY",
    "franken": "CHF",
    "fr.": "CHF",
    "mxn": "MXN",
    "pesos": "MXN",
    "brl": "BRL",
    "r$": "BRL",
    "sek": "SEK",
    "nok": "NOK",
    "dkk": "DKK",
    "pln": "PLN",
    "cny": "CNY",
    "rmb": "CNY",
    "hkd": "HKD",
    "sgd": "SGD",
    "nzd": "NZD",
    "zar": "ZAR",
    "krw": "KRW",
    "dólares": "USD",
    "dolares": "USD",
}
# ISO codes written after or before an amount ("5k USD", "CHF 800").
CURRENCY_ISO: Final[tuple[str, ...]] = tuple(sorted({c.lower() for c in CURRENCY_CODES.values()}))
# Words that introduce a budget amount without a currency ("budget 3k", "presupuesto 900").
BUDGET_WORDS: Final = r"budget|werbebudget|etat|presupuesto|spend|ad\s+spend"
MONEY_MULTIPLIERS: Final[dict[str, int]] = {
    "k": 1_000,
    "thousand": 1_000,
    "grand": 1_000,
    "m": 1_000_000,
    "million": 1_000_000,
    "bn": 1_000_000_000,
    "mio": 1_000_000,
    "millionen": 1_000_000,
    "millones": 1_000_000,
    "tsd": 1_000,
    "tausend": 1_000,
    "mil": 1_000,
}

# Words that name what a campaign is about when they follow one of these verbs (for the plan's name).
NAME_VERBS: Final = (
    r"launch(?:es|ing)?|promot(?:e|es|ing)|announc(?:e|es|ing)|market(?:ing)?|advertis(?:e|ing)|sell(?:ing)?|"
    r"run(?:ning)?|kick\s+off|start|push|hype|showcase|introduce|host(?:ing)?|celebrate"
)
NAME_STOPWORDS: Final = (
    r"on|to|with|for|in|via|across|next|this|from|by|at|and|using|through|starting|during|until|before|"
    r"tomorrow|today|over|targeting|aimed|around|near|who|that|which|so|we|i|it|them|between|about|"
    r"something|more|some|all|\d+"
)
TYPE_LABELS: Final[dict[CampaignType, str]] = {
    "product_launch": "launch",
    "promotion": "promotion",
    "brand_awareness": "awareness campaign",
    "event": "event",
    "webinar": "webinar",
    "lead_generation": "lead campaign",
    "re_engagement": "win-back campaign",
    "seasonal_sale": "sale",
    "newsletter": "newsletter",
    "content_marketing": "content campaign",
    "general": "campaign",
}

MISSING_QUESTIONS: Final[dict[str, str]] = {
    "platforms": "Which channels should the campaign run on (for example Instagram, TikTok, email)?",
    "timeline": "When should the campaign start, and how long should it run?",
    "budget": "What budget do you have for this campaign, and in which currency?",
    "target_audience": (
        "Who should the campaign reach (age range, location, interests or a customer segment)?"
    ),
}
