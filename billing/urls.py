from django.urls import path

from . import downloads, views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("card/", views.card_add, name="card_add"),
    path("tax-id/", views.tax_id_set, name="tax_id_set"),
    path("invoices.csv", views.invoices_csv, name="invoices_csv"),
    path("invoices/<str:number>.pdf", downloads.invoice_pdf_view, name="invoice_pdf"),
]
