from django.urls import path

from . import views

app_name = "finance"

urlpatterns = [
    path("invoices.csv", views.invoices_csv, name="invoices_csv"),
    path("invoice-lines.csv", views.invoice_lines_csv, name="invoice_lines_csv"),
]
