def test_login_and_me(as_user):
    admin = as_user("admin")
    me = admin.get("/api/v1/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "admin"
    assert me.json()["role"] == "admin"
