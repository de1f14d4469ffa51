from django.apps import AppConfig


def _payment_method_on_file(account) -> bool:
    from .selectors import payment_method_on_file

    return payment_method_on_file(account)


def _payment_terms_set(*, account, terms: str, actor, reason: str):
    from .services.payments import payment_terms_set

    # An approved invoice-terms request (console.services.staff_requests) sets the terms in
    # its own transaction; the request and its answer are the reason, kept in its activity.
    return payment_terms_set(account=account, terms=terms, actor=actor, reason=reason)


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
        # Console (below) sets the terms an approved invoice-terms request asked for.
        hooks.hook_register(hooks.PAYMENT_TERMS_SET, _payment_terms_set)


        # The platform's spend limit service refuses a limit below this month's spend.
        hooks.hook_register(hooks.ACCOUNT_MONTH_SPENT, _account_month_spent)
