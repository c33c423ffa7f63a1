"""What one recorded exchange is: the values every other part of llmreel passes around.

:mod:`.interaction` holds the request, response, stream event and interaction
values; :mod:`.wire` builds a request from an HTTP request's wire parts (one
way for every adapter); :mod:`.streams` splits a byte stream into SSE or
NDJSON events as it arrives.
"""
