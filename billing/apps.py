from django.apps import AppConfig


def _payment_method_on_file(account) -> bool:
    from .selectors import payment_method_on_file

    return payment_method_on_file(account)


def _account_month_spent(*, account_id: int):
    from .selectors import account_month_spent

    return account_month_spent(account_id=account_id)


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from console import hooks

        # Campaigns (a layer below) ask before a submit whether the account can be charged.
        hooks.hook_register(hooks.PAYMENT_METHOD_ON_FILE, _payment_method_on_file)
        # The platform's spend limit service refuses a limit below this month's spend.
        hooks.hook_register(hooks.ACCOUNT_MONTH_SPENT, _account_month_spent)
