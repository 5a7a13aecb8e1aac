"""Settings for the load benchmark: the product's, plus the bare comparison views' URLs.

The bare endpoints live only here (bench.load.urls); the product's URLconf never has them.
"""

from outagewatch.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load.urls"
