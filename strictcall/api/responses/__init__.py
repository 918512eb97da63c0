"""The Responses API (POST /v1/responses): server-side tool loop, stored conversations."""
