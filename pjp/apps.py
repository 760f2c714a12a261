from django.apps import AppConfig


class PjpConfig(AppConfig):
    name = "pjp"
