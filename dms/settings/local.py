"""Developer and demo settings: DEBUG on, a throwaway secret key if none is given."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dms-local-insecure-key-do-not-use-in-production")
