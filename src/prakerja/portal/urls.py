from django.urls import path

from prakerja.portal import account_views as account
from prakerja.portal import incentive_views as incentive
from prakerja.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("pelatihan/", views.training_search, name="training_search"),
    path("pelatihan/<int:training_id>/beli/", views.training_buy, name="training_buy"),
    path("pelatihan-saya/", views.my_trainings, name="my_trainings"),
    path(
        "pelatihan-saya/<int:order_id>/ulasan/",
        views.order_review_submit,
        name="order_review",
    ),
    path("insentif/", incentive.incentives, name="incentives"),
    path("insentif/rekening/", incentive.account_link, name="incentives_account"),
    path("insentif/survei/<int:sequence>/", incentive.survey, name="survey"),
    path("daftar/", account.sign_up, name="signup"),
    path("daftar/email/", account.signup_email, name="signup_email"),
    path("daftar/email/kirim-ulang/", account.signup_email_resend, name="signup_email_resend"),
    path("masuk/", account.log_in, name="login"),
    path("keluar/", account.log_out, name="logout"),
    path("lupa-sandi/", account.reset_request, name="reset_request"),
    path("lupa-sandi/<str:token>/", account.reset_confirm, name="reset_confirm"),
    path("verifikasi-email/<str:token>/", account.verify_email_link, name="verify_email_link"),
    path("status/", account.status, name="status"),
    path("status/nik/perbaiki/", account.nik_correct, name="nik_correct"),
    path("status/ponsel/kode/", account.phone_code, name="phone_code"),
    path("status/ponsel/kirim-ulang/", account.phone_resend, name="phone_resend"),
    path("status/ponsel/ganti/", account.phone_change, name="phone_change"),
    path("status/swafoto/", account.selfie, name="selfie"),
    path("status/gelombang/ikut/", account.wave_apply, name="wave_apply"),
]
