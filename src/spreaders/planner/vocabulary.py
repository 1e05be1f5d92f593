"""The planner's vocabulary as plain data: platform aliases, campaign types, objectives, content types
and the platform/content -> capability mapping. Patterns are case-insensitive regular expressions
unless a name says otherwise; the extraction code in `offline.py` compiles them.
"""

from __future__ import annotations

from typing import Final, get_args

from spreaders.planner.schemas import CampaignType, Capability, ContentType

# Platform aliases. Longer phrases win over shorter ones at the same position ("facebook ads" beats
# "facebook"); ad products of Meta (Instagram/Facebook ads) map to facebook_ads, YouTube ads to google_ads.
PLATFORM_ALIASES: Final[tuple[tuple[str, str], ...]] = (
    (r"(?:instagram|insta|ig|facebook|fb|meta)\s+ads?", "facebook_ads"),
    (r"(?:google|youtube)\s+ads?|google\s+adwords|adwords|google\s+search\s+ads?", "google_ads"),
    (r"linked\s?in\s+ads?", "linkedin_ads"),
    (r"tik\s?-?tok\s+ads?", "tiktok_ads"),
    (r"instagram|insta|ig", "instagram"),
    (r"facebook|fb", "facebook"),
    (r"twitter|tweets?|x\.com", "twitter"),
    (r"linked\s?in", "linkedin"),
    (r"tik\s?-?tok", "tiktok"),
    (r"youtube|yt", "youtube"),
    (r"pinterest", "pinterest"),
    (r"e-?mails?(?:\s+blasts?)?|email\s+list|newsletters?|mailing\s+list|mailchimp|klaviyo", "email"),
    (r"sms|text\s+messages?", "sms"),
    (r"blog(?:s|\s+posts?)?", "blog"),
    (r"telegram", "telegram"),
    (r"discord", "discord"),
    (r"slack", "slack"),
    (r"whats\s?app", "whatsapp"),
    (r"reddit", "reddit"),
    (r"snapchat", "snapchat"),
    (r"bluesky", "bluesky"),
)

# "X" is matched only as a capital word in platform context ("on X", "X and LinkedIn", "Instagram, X").
X_PLATFORM: Final = "twitter"
X_CONTEXT_BEFORE: Final = r"(?:\b(?:on|to|via|across|onto)\s+(?:the\s+)?$)"
X_LIST_SEPARATORS: Final = r"\s*(?:,|&|/|\band\b|\bor\b|\bplus\b)\s*"

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
    }
)
AD_PLATFORMS: Final[frozenset[str]] = frozenset({"google_ads", "facebook_ads", "linkedin_ads", "tiktok_ads"})
EMAIL_PLATFORMS: Final[frozenset[str]] = frozenset({"email"})

# Words saying money goes to advertising (so a budget implies an ad campaign).
AD_WORDS: Final = (
    r"\b(?:ads?|advert(?:s|ising|isements?)?|paid|sponsored|boost(?:ed)?|promoted\s+posts?|ppc|cpc)\b"
)

# Campaign types in priority order: the first type with a matching pattern wins, else "general".
CAMPAIGN_TYPE_PATTERNS: Final[tuple[tuple[CampaignType, tuple[str, ...]], ...]] = (
    (
        "seasonal_sale",
        (
            r"black\s+friday|cyber\s+monday|boxing\s+day|prime\s+day|back[- ]to[- ]school",
            r"(?:christmas|xmas|holiday|easter|summer|winter|spring|autumn|fall|halloween|"
            r"valentine'?s?|new\s+year'?s?|seasonal|end[- ]of[- ]season)\s+(?:\w+\s+)?sale",
        ),
    ),
    ("re_engagement", (r"re-?engage\w*|win[- ]?back|lapsed|inactive|dormant|churned|bring\s+back",)),
    ("webinar", (r"webinars?|live\s?streams?|virtual\s+(?:event|workshop|summit)|online\s+workshop",)),
    (
        "lead_generation",
        (
            r"leads?\b|lead[- ]gen\w*|demo\s+requests?|book\s+a\s+demo|free\s+trials?|lead\s+magnet|"
            r"whitepaper",
        ),
    ),
    (
        "product_launch",
        (
            r"launch(?:es|ing|ed)?\b(?!\s+(?:(?:a|an|the|our|my|this)\s+)?(?:[\w-]+\s+){0,3}(?:campaign|ads?)\b)",
            r"(?<!price\s)\bdrops?\b(?!\s+(?:prices?|by)\b)",
            r"new\s+(?:product|collection|line|release|flavou?r|model|app|feature)s?",
            r"product\s+launch|release|unveil\w*|introducing|debut\w*|pre-?orders?",
        ),
    ),
    (
        "event",
        (
            r"events?\b|conference|meetup|festival|concert|grand\s+opening|open\s+house|pop-?up|"
            r"workshop|trade\s+show|launch\s+party|tasting",
        ),
    ),
    (
        "promotion",
        (
            r"promo(?:tion)?s?\b|discounts?|\d+\s?%\s+off|deals?\b|coupons?|offers?\b|flash\s+sale|bogo|sale\b",
        ),
    ),
    ("newsletter", (r"newsletters?|weekly\s+digest|monthly\s+update",)),
    (
        "content_marketing",
        (
            r"content\s+marketing|blog\s+posts?|articles?|seo\b|thought\s+leadership|podcasts?|"
            r"case\s+stud(?:y|ies)|guides?\b",
        ),
    ),
    ("brand_awareness", (r"awareness|visibility|brand(?:ing)?\b|get\s+(?:our|my|the)\s+name\s+out",)),
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
    ("images", r"\b(?:images?|photos?|pictures?|visuals?|graphics?|carousels?|infographics?)\b"),
    ("videos", r"\b(?:videos?|clips?|footage|shorts)\b"),
    ("copy", r"\b(?:copy|captions?|copywriting|posts?)\b"),
    ("stories", r"\bstor(?:y|ies)\b"),
    ("reels", r"\breels?\b"),
    ("blog_posts", r"\b(?:blog\s+posts?|articles?|blogs?)\b"),
    ("email_copy", r"\b(?:e-?mails?|newsletters?)\b"),
    ("ad_creatives", r"\b(?:ad\s+creatives?|banners?|ads?|display\s+ads?)\b"),
    ("landing_page", r"\b(?:landing\s+pages?|sign-?up\s+pages?|registration\s+pages?|microsite)\b"),
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
LEAD_TYPES: Final[frozenset[CampaignType]] = frozenset({"lead_generation"})

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
}
MONEY_MULTIPLIERS: Final[dict[str, int]] = {
    "k": 1_000,
    "thousand": 1_000,
    "grand": 1_000,
    "m": 1_000_000,
    "million": 1_000_000,
    "bn": 1_000_000_000,
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
