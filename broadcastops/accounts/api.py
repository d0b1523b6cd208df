"""Who am I, and API tokens for scripts and the player frontend."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

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
    """Exchange a user name and password for the user's API token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(request=AuthTokenSerializer, responses=TokenOutput)
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response(TokenOutput({"token": token.key}).data)
