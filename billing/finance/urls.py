from django.urls import path

from . import desk, views

app_name = "finance"

urlpatterns = [
    path("invoices.csv", views.invoices_csv, name="invoices_csv"),
    path("invoice-lines.csv", views.invoice_lines_csv, name="invoice_lines_csv"),
    # The finance desk (issue 20).
    path("aging/", desk.aging, name="aging"),
    path("aging.csv", desk.aging_csv, name="aging_csv"),
    path("revenue/", desk.revenue, name="revenue"),
    path("revenue.csv", desk.revenue_csv, name="revenue_csv"),
    path("reconciliation/", desk.reconciliation, name="reconciliation"),
    path("reconciliation/<int:pk>/", desk.statement, name="statement"),
    path("month-end/", desk.monthend, name="monthend"),
    path("month-end/<int:pk>/download/", desk.monthend_download, name="monthend_download"),
]
