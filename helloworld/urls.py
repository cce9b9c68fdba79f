from django.urls import path

from helloworld import views

urlpatterns = [
    path("", views.hello, name="hello"),
    path("healthz", views.healthz, name="healthz"),
]
