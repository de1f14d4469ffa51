"""The product's URLs plus the benchmark's two reference views (never in console.urls)."""

from django.urls import path

from console.urls import urlpatterns as product_urlpatterns

from . import views

urlpatterns = [
    path("bench/hello", views.hello),
    path("bench/hello-redis", views.hello_redis),
    path("bench/raw-sql", views.raw_sql),
    *product_urlpatterns,
]
