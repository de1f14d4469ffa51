"""Lifecycle actions of the developer's campaign pages (included in the campaigns namespace)."""

urlpatterns: list = []
