from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "prakerja.orders"
    verbose_name = "Orders, vouchers and reviews"
