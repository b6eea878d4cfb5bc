"""Run ids and generated display names."""

from __future__ import annotations

import secrets
import string

_ID_ALPHABET = string.ascii_lowercase + string.digits

ADJECTIVES = ["amber", "azure", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "dashing", "eager", "earnest", "fancy", "fearless", "fiery", "gallant", "gentle", "glad", "glorious", "golden", "graceful", "hardy", "honest", "hopeful", "jolly", "keen", "kind", "lively", "lucky", "lunar", "major", "mellow", "misty", "noble", "olive", "polar", "proud", "quiet", "rapid", "rare", "restful", "rosy", "royal", "sage", "scarlet", "serene", "sharp", "shiny", "silver", "smooth", "snowy", "solar", "spring", "stellar", "still", "stoic", "sunny", "swift", "tender", "twilight", "vague", "valiant", "vibrant", "vital", "warm", "wild", "winter", "wise", "witty", "young", "zesty"]
NOUNS = ["aurora", "bird", "blaze", "breeze", "brook", "butterfly", "cloud", "comet", "cosmos", "dawn", "deluge", "dew", "dream", "dune", "eon", "field", "fire", "firefly", "flower", "fog", "forest", "frost", "galaxy", "glade", "glitter", "grass", "haze", "hill", "lake", "leaf", "light", "meadow", "moon", "morning", "mountain", "night", "oasis", "ocean", "paper", "pine", "planet", "pond", "rain", "resonance", "river", "salad", "sea", "shadow", "shape", "sky", "smoke", "snow", "sound", "spaceship", "star", "sun", "sunset", "surf", "terrain", "thunder", "tree", "universe", "violet", "voice", "water", "wave", "wind", "wood"]


def generate_id(length: int = 8) -> str:
    """An 8-character run id from ``[a-z0-9]`` (W&B's ``runid.generate_id``)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def generate_name(number: int | None = None) -> str:
    """``adjective-noun-N``, the shape of W&B's server-generated names."""
    n = number if number is not None else secrets.randbelow(999) + 1
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(NOUNS)}-{n}"
