"""The example's only pages: Django's admin, with quartzite's jobs and run history."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
