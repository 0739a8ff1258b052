"""The one domain error: a stable code for machines and a detail for people."""


class ChatError(Exception):
    """A user's mistake or a refusal. Consumers turn it into an `error` frame, views into a form error."""

    def __init__(self, code, detail, client_id=None, retry_after_ms=None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_id = client_id  # set when the refused frame was a message with a client_id
        self.retry_after_ms = retry_after_ms  # when trying again can work (muted, slow_mode)
