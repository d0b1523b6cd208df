"""Who am I, and API tokens for scripts and the player frontend."""

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from broadcastops.accounts.lockout import login_locked_out_error
from broadcastops.accounts.roles import ROLE_ORDER, user_has_role


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class MeApi(APIView):
    """The signed-in user and the roles they hold (each role includes the lower ones)."""

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        roles = [role.value for role in ROLE_ORDER if user_has_role(request.user, role)]
        return Response(MeOutput({"username": request.user.get_username(), "roles": roles}).data)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class TokenCreateApi(APIView):
    """Exchange a user name and password for the user's API token.

    Failed attempts count towards the same sign-in limit as the admin's login page (429
    ``locked_out`` past it, even with the right password).
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(request=AuthTokenSerializer, responses=TokenOutput)
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # axes marks the request it was handed (this DRF request) when it locks out.
            if getattr(request, "axes_locked_out", False):
                raise login_locked_out_error()
            serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        # A sign-in like the admin's: axes clears this address's failures, last_login moves.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenOutput({"token": token.key}).data)
