"""English word lists for the heuristic text provider: stopwords, character and place nouns,
cues for time, light and mood. Data only; the logic lives in :mod:`.heuristic`."""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, as a set."""
    return frozenset(text.split())


STOPWORDS = word_set(
    """a about above after again against ah all almost alone along already also although always
    am among an and another any anyone anything are around as at away back be became because
    become been before behind being below beside besides between beyond both but by came can
    cannot come comes could did do does doing done down during each either else enough even ever
    every everyone everything far few for from further get got had has have having he her here
    hers herself him himself his how however i if in into is it its itself just let like made
    make many may me might more most much must my myself near neither never no nobody none nor
    not nothing now o of off oh often on once one only or other others our ours out over own
    perhaps quite rather said same say says shall she should since so some something soon still
    such than that the their theirs them themselves then there therefore these they this those
    though through thus till to too toward towards under until up upon us very was we well were
    what whatever when where whether which while who whom whose why will with within without
    would yes yet you your yours yourself underneath beneath thou thee thy thine ye hast hath art
    dost doth shalt wilt wert canst couldst wouldst shouldst didst hadst mayst"""
)
COMMON_VERBS = word_set(
    """answered asked began begin called come coming cried felt find found gave give go goes going
    gone heard know knew looked look looks put replied saw see seemed seen set sat stood take
    taken tell think thought told took want wanted went say came get would could going said
    thing things time times way day days good great little old long much many first two three
    whole away again nothing something another every"""
)
DETERMINERS = word_set("the a an his her their its my your our this that these every each")
CHARACTER_NOUNS = word_set(
    """king queen prince princess fox wolf witch woman man boy girl giant dwarf tailor miller
    huntsman hunter father mother stepmother brother sister son daughter wife husband bird horse
    cat dog mouse frog bear goose cook servant maid maiden soldier knight wizard fairy dragon
    peasant farmer fisherman fish shepherd robber bride bridegroom grandmother grandfather child
    youth lad lady lord duke emperor merchant beggar thief priest monk hermit sorcerer enchantress
    stranger traveller donkey ass cock hen sparrow raven dove owl swan lion snake toad duck cow
    goat mermaid elf shoemaker woodcutter wood-cutter smith blacksmith baker musician fiddler
    gardener groom guard captain sailor doctor ferryman squire page nun abbot hare fellow"""
)
_IRREGULAR_PLURALS = {
    "man": "men", "woman": "women", "child": "children", "goose": "geese", "mouse": "mice",
    "wolf": "wolves", "elf": "elves", "thief": "thieves", "wife": "wives", "fish": "fishes",
    "ass": "asses", "fairy": "fairies", "lady": "ladies", "princess": "princesses",
    "wood-cutter": "wood-cutters", "dwarf": "dwarfs", "sheep": "sheep",
}  # fmt: skip
CHARACTER_PLURALS = frozenset(
    _IRREGULAR_PLURALS.get(noun, noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s"))
    for noun in CHARACTER_NOUNS
)
"""Groups that act together: "the dwarfs", "the robbers", "the twelve huntsmen"."""
GENERIC_NOUNS = word_set("man woman son daughter brother sister boy girl lady fellow child maiden")
IDENTITY_ADJECTIVES = word_set(
    "old young little eldest youngest elder younger second third wise poor"
)
NONVISUAL = word_set(
    """certain same other own such whole very real true next last only dear good bad right wrong
    much more most few many several each every another some any no all both two three four five
    six seven eight nine ten twelve first second third fourth fifth eldest youngest elder younger
    said own"""
)
PLACE_NOUNS: dict[str, str] = {  # place noun -> the preposition a title uses with it
    noun: preposition
    for preposition, nouns in (
        ("in", "forest wood woods village town city kingdom garden house cottage hut room chamber"
         " hall kitchen cellar cave stable barn tower prison dungeon palace church chapel orchard"
         " meadow field valley marsh swamp grove attic bedroom parlour parlor library shop bakery"
         " tavern courtyard court graveyard churchyard"),
        ("at", "castle inn well mill gate market station camp farm school landing square"),
        ("on", "road path bridge hill mountain shore beach island street heath moor cliff"),
        ("by", "river lake sea ocean pond fountain stream"),
    )
    for noun in nouns.split()
}  # fmt: skip
PLACE_PREPOSITIONS = word_set(
    "in at to from into near towards toward through across reached visited outside within beyond"
)
SPEECH_VERBS = word_set(
    "said says cried asked answered replied whispered shouted called exclaimed thought spoke"
)
TITLE_WORDS = word_set(
    """King Queen Prince Princess Sir Lady Lord Mr Mrs Miss Ms Dr Saint St Mother Father Uncle
    Aunt Captain Master Dame Brother Sister Doctor Madame Monsieur Herr Frau"""
)
COMMON_CAPS = word_set(
    """I O Oh Ah God Heaven Lord Christ Sunday Monday Tuesday Wednesday Thursday Friday Saturday
    January February March April May June July August September October November December
    Christmas Easter English French German Latin Yes No Good Well Pray Alas Sir Madam Dear
    Project Gutenberg Chapter CHAPTER Mrs Mr Miss OK Ok Hello Goodbye Thank Thanks Lo Hark
    Behold Hush Hurrah Huzza Alack Fie Farewell Adieu Amen Bravo Welcome Well-a-day Heigh-ho
    Thou Thee Thy Thine Ye Hast Hath Art Dost Doth Shalt Wilt Canst Nay Ay Aye"""
)
ACTION_VERBS = word_set(
    """ran run runs rode ride flew fly jumped leapt leaped climbed fell caught shot seized opened
    carried danced fought struck threw walked sat stood lay laid knocked pulled pushed dragged
    kissed killed cut dug built lifted hung rowed swam sailed hid found broke burned lit drank
    ate crept galloped chased fled escaped took gave brought led held stepped entered returned
    arrived reached met rescued spun wove sewed sang played kneeled knelt slept woke awoke wept
    cried embraced grabbed stole buried planted picked gathered poured stirred baked cooked
    shook rang raised waved pointed dropped mounted tied untied scraped wrapped"""
)
VISUAL_ADJECTIVES = word_set(
    """golden silver gold red white black green blue yellow brown grey gray dark bright little
    small big great huge tiny old young beautiful ugly wooden iron glass crystal stone shabby
    poor rich wild tall long short magic enchanted crooked broken burning shining wicked ragged
    beloved aged naked bearded winged horned hooded veiled crowned armed"""
)
THINGS = word_set(
    """apple arrow axe bag ball basket bed bell bird boat bone book bottle bow box bread broom
    bucket cage cake candle cap carriage cart chest cloak coach coat coin crown cup dress egg
    feather fire flower gold goose hat horn horse jewel key knife ladder lamp lantern letter
    loaf meat mirror money necklace needle nut oven pearl pebble pipe pot purse ring rope rose
    saddle sack sheep ship shoe silver spindle staff stick stone straw sword table treasure
    tree wagon water wheel wine wing sausage turnip frog fish pea spinning-wheel torch cider
    oar basket blanket scarf puppy"""
)
TIMES = {
    "midnight": "night", "night": "night", "nightfall": "night", "moon": "night",
    "moonlight": "night", "moonlit": "night", "stars": "night", "dawn": "dawn", "daybreak": "dawn",
    "sunrise": "dawn", "morning": "morning", "noon": "midday", "midday": "midday",
    "afternoon": "afternoon", "evening": "evening", "dusk": "dusk", "twilight": "dusk",
    "sunset": "dusk",
}  # fmt: skip
BLAND_WORDS = word_set(
    """people right hand hands year years mind place kind sort part word words matter head eyes
    face side end manner moment course fact reason while once about being having knew upon
    another something nothing everything anything enough rather quite whole myself yourself"""
)
LIGHTING = {
    "night": "at night, moonlight",
    "dawn": "at dawn, soft early light",
    "morning": "morning light",
    "midday": "bright midday sun",
    "afternoon": "warm afternoon light",
    "evening": "evening, warm low light",
    "dusk": "at dusk, fading light",
}
MOODS: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (label, word_set(words))
    for label, words in (
        ("dark and ominous", "dark death dead die died kill killed blood wicked witch fear afraid"
         " terrible grave evil cruel devil poison murder danger dread monster wolf"),
        ("joyful and lighthearted", "happy happily joy merry laugh laughed laughing glad delight"
         " delighted feast dance danced sing sang singing rejoicing cheerful fun smile smiled"),
        ("melancholy", "sad sorrow sorrowful wept weep weeping tears grief lonely mourn mourned"
         " hunger hungry sigh sighed sighing misery miserable"),
        ("adventurous", "journey travel travelled rode ride ran escape fight fought battle sword"
         " adventure world quest gallop galloped chase chased fled"),
        ("tender and romantic", "love loved kiss kissed marry married wedding bride heart gentle"
         " sweet darling embrace embraced"),
        ("mysterious and magical", "magic enchanted spell fairy strange secret wonder wonderful"
         " mysterious dream vanished transformed charm wizard witchcraft fog mist"),
    )
)  # fmt: skip
MALE_NOUNS = word_set(
    """king prince man boy giant dwarf tailor miller huntsman hunter father brother son husband
    soldier knight wizard peasant farmer fisherman shepherd robber bridegroom grandfather youth
    lad lord duke emperor merchant beggar thief priest monk hermit sorcerer cock elf shoemaker
    woodcutter wood-cutter smith blacksmith baker fiddler gardener groom guard captain sailor
    ferryman squire page abbot fellow"""
)
FEMALE_NOUNS = word_set(
    """queen princess witch woman girl mother stepmother sister daughter wife maid maiden bride
    grandmother lady enchantress mermaid nun hen goose duck cow"""
)
SPEAKING = word_set(
    """said says cried asked answered replied exclaimed shouted whispered spoke speak speaks
    say tell told thought"""
)
FIRST_PERSON = word_set("i i'm i'll i've i'd me my mine myself we us our ours")
SECOND_PERSON = word_set("you your yours yourself thou thee thy thine ye")
CLOSE_CUES = word_set(
    """kiss kissed kisses wept weep tears tear eyes eye face lips hand hands finger fingers ring
    key needle letter feather pea pearl pearls egg coin spindle smiled smile whispered tasted
    touched held bit bite cheek cheeks forehead mouth heart neck hair locks braid tresses"""
)
TRAVEL_VERBS = word_set(
    """rode ride rides ran run runs walked walk went go goes travelled traveled journeyed flew fly
    sailed sail galloped fled crossed wandered marched came set climbed drove rowed swam led
    followed hurried hastened chased"""
)
OPEN_PLACES = word_set(
    """forest wood woods village town city kingdom garden meadow field valley marsh swamp grove
    orchard courtyard graveyard churchyard road path bridge hill mountain shore beach island
    street heath moor cliff river lake sea ocean pond fountain stream well gate market square
    camp farm landing"""
)
INDOOR_PLACES = word_set(
    """house cottage hut room chamber hall kitchen cellar cave stable barn prison dungeon palace
    church chapel attic bedroom parlour parlor library shop bakery tavern inn mill school"""
)
TURNING_WORDS = word_set(
    """suddenly died killed slew burst broke awoke transformed vanished disappeared rescued saved
    released married wedding recognised recognized discovered revealed seized caught escaped fled"""
)
TURNING_PHRASES = frozenset(
    tuple(phrase.split())
    for phrase in (
        "at once", "at last", "at that moment", "in an instant", "but when", "just as",
        "no sooner", "fell down dead", "was dead", "were dead", "cut off", "woke up",
        "turned into", "changed into", "set free",
    )
)  # fmt: skip
"""Turning-point cues: the moment a story changes course."""
IRREGULAR_PAST = {
    past: base
    for base, pasts in (
        ("be", ""), ("begin", "began"), ("bite", "bit"), ("blow", "blew"), ("break", "broke"),
        ("bring", "brought"), ("build", "built"), ("burn", "burnt"), ("burst", "burst"),
        ("buy", "bought"), ("cast", "cast"), ("catch", "caught"), ("choose", "chose"),
        ("come", "came"), ("creep", "crept"), ("cut", "cut"), ("deal", "dealt"), ("dig", "dug"),
        ("do", "did"), ("draw", "drew"), ("dream", "dreamt"), ("drink", "drank"),
        ("drive", "drove"), ("eat", "ate"), ("fall", "fell"), ("feed", "fed"), ("feel", "felt"),
        ("fight", "fought"), ("find", "found"), ("flee", "fled"), ("fling", "flung"),
        ("fly", "flew"), ("forget", "forgot"), ("forgive", "forgave"), ("freeze", "froze"),
        ("get", "got"), ("give", "gave"), ("go", "went"), ("grind", "ground"), ("grow", "grew"),
        ("hang", "hung"), ("have", "had"), ("hear", "heard"), ("hide", "hid"), ("hit", "hit"),
        ("hold", "held"), ("hurt", "hurt"), ("keep", "kept"), ("kneel", "knelt"),
        ("know", "knew"), ("lay", "laid"), ("lead", "led"), ("leap", "leapt"), ("leave", "left"),
        ("lend", "lent"), ("let", "let"), ("lie", "lay"), ("light", "lit"), ("lose", "lost"),
        ("make", "made"), ("mean", "meant"), ("meet", "met"), ("pay", "paid"), ("put", "put"),
        ("read", "read"), ("ride", "rode"), ("ring", "rang"), ("rise", "rose arose"),
        ("run", "ran"), ("say", "said"), ("see", "saw"), ("seek", "sought"), ("sell", "sold"),
        ("send", "sent"), ("set", "set"), ("shake", "shook"), ("shine", "shone"),
        ("shoot", "shot"), ("shut", "shut"), ("sing", "sang"), ("sink", "sank"), ("sit", "sat"),
        ("sleep", "slept"), ("slay", "slew"), ("slide", "slid"), ("speak", "spoke"),
        ("spend", "spent"), ("spin", "spun"), ("spring", "sprang"), ("stand", "stood"),
        ("steal", "stole"), ("stick", "stuck"), ("sting", "stung"), ("strike", "struck"),
        ("swear", "swore"), ("sweep", "swept"), ("swim", "swam"), ("swing", "swung"),
        ("take", "took"), ("teach", "taught"), ("tear", "tore"), ("tell", "told"),
        ("think", "thought"), ("throw", "threw"), ("understand", "understood"),
        ("wake", "woke awoke"), ("wear", "wore"), ("weave", "wove"), ("weep", "wept"),
        ("win", "won"), ("wind", "wound"), ("write", "wrote"), ("can", "could"),
        ("will", "would"), ("shall", "should"), ("become", "became"), ("overtake", "overtook"),
        ("behold", "beheld"), ("bear", "bore"), ("bend", "bent"), ("bid", "bade"),
        ("spread", "spread"), ("tread", "trod"), ("undertake", "undertook"),
    )
    for past in pasts.split()
}  # fmt: skip
"""Past tense -> plain form of common irregular verbs, for titles in the present tense."""
