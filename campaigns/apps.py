from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from console.metrics import metrics_collector_register

        from .services.lifecycle import campaigns_sweep_lag_seconds

        metrics_collector_register(
            "moments_sweep_lag_seconds",
            "Seconds the most overdue campaign move (go live, finish) has waited for the "
            "lifecycle sweep; 0 when none is due.",
            campaigns_sweep_lag_seconds,
        )
