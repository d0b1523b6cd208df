"""WhiteNoise's middleware, usable in Django's async middleware chain as well as its sync one.

``GuardedASGIHandler`` runs sync views through a sync chain and async views (the live
monitoring's streams) through an async one. WhiteNoise is sync only, so in the async chain
Django would wrap everything inside it in ``async_to_sync``, whose ``main_wrap`` keeps a
cancelled request in a reference cycle. A static file's path never resolves to a view, so it
reaches the sync chain; here the async chain only looks the path up and passes the request on.
"""

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]  # an untyped base
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None, **kwargs: Any) -> None:
        super().__init__(get_response, **kwargs)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> Any:
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
