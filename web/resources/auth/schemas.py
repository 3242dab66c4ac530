"""Request and response schemas for accounts and tokens."""

import marshmallow as ma

from web.fields import EmailAddress, Text, Timestamp

# Argon2 hashes any length, but an unbounded password is a denial-of-service lever.
PASSWORD = dict(validate=ma.validate.Length(min=8, max=128))


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.Email()
    name = ma.fields.String()
    role = ma.fields.String()
    status = ma.fields.String()
    created_at = Timestamp()
    xp_total = ma.fields.Integer()


class RegisterSchema(ma.Schema):
    email = EmailAddress(required=True)
    password = ma.fields.String(required=True, load_only=True, **PASSWORD)
    name = Text(required=True, max_length=120)
    role = ma.fields.String(load_default="student", validate=ma.validate.OneOf(["student", "instructor"]))


class LoginSchema(ma.Schema):
    email = EmailAddress(required=True)
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=128))


class ProfileUpdateSchema(ma.Schema):
    """Only these fields may change; anything else (role, email, status...) is rejected."""

    name = Text(max_length=120)
    password = ma.fields.String(load_only=True, **PASSWORD)
    current_password = ma.fields.String(load_only=True, validate=ma.validate.Length(min=1, max=128))

    @ma.validates_schema
    def _not_empty(self, data, **_kwargs):
        if "name" not in data and "password" not in data:
            raise ma.ValidationError("Give a name or a password to change.", "_schema")


class TokensSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String()
    user = ma.fields.Nested(UserSchema)


class ProfileUpdatedSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    access_token = ma.fields.String(metadata={"description": "New tokens after a password change"})
    refresh_token = ma.fields.String()


class MessageSchema(ma.Schema):
    message = ma.fields.String()


class GoogleLoginArgsSchema(ma.Schema):
    return_to = ma.fields.String(
        validate=ma.validate.Length(max=2000),
        metadata={
            "description": "Front-end page to come back to: one of the server's FRONTEND_URL entries "
            "(default: the first)"
        },
    )


class OAuthExchangeSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "The one-time code the Google callback put in the front end's URL"},
    )
