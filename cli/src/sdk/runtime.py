@dataclass(frozen=True)
class Credentials:
    """Credentials of an AWS_IAM caller: an access key, with its session token when temporary."""

    access_key_id: str
    secret_access_key: str
    session_token: Optional[str] = None


@dataclass
class Response:
    """A 2xx response: the body is parsed when it is JSON, else the text."""

    status: int
    headers: Dict[str, str]
    body: Any


class ApiError(Exception):
    """A response whose status is not 2xx; `message` is the gateway's (or the API's) message."""

    def __init__(self, status: int, message: str, headers: Dict[str, str], body: Any) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.headers = headers
        self.body = body
        # `x-amzn-ErrorType` and `x-amzn-RequestId` of a gateway response.
        self.error_type: Optional[str] = headers.get("x-amzn-errortype")
        self.request_id: Optional[str] = headers.get("x-amzn-requestid")


def _encode(value: Union[str, bytes], keep_slash: bool = False) -> str:
    """Every byte but RFC 3986's unreserved characters (and `/` if `keep_slash`) as `%XY`."""
    return urllib.parse.quote(value, safe="/" if keep_slash else "")


def _encode_path(value: Any, greedy: bool) -> str:
    text = _text(value)
    if greedy:
        return "/".join(_encode(s) for s in text.split("/"))
    return _encode(text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _canonical_uri(path: str) -> str:
    """The path with `.`/`..` resolved and empty segments dropped, encoded again."""
    segments: List[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
        else:
            segments.append(segment)
    out = "".join("/" + s for s in segments)
    if out == "" or path.endswith("/"):
        out += "/"
    return _encode(out, keep_slash=True)


def _canonical_query(query: str) -> str:
    """Every parameter decoded, encoded the SigV4 way, sorted by name then value."""
    pairs = []
    for part in query.split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        pairs.append(
            (
                _encode(urllib.parse.unquote_to_bytes(name)),
                _encode(urllib.parse.unquote_to_bytes(value)),
            )
        )
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _hmac(key: bytes, data: str) -> bytes:
    return hmac.new(key, data.encode("utf-8"), hashlib.sha256).digest()


def sign_request(
    method: str,
    url: str,
    headers: Dict[str, str],
    payload: bytes,
    credentials: Credentials,
    region: str,
    now: Optional[datetime.datetime] = None,
) -> Dict[str, str]:
    """SigV4 (header form) for `execute-api`: the headers to add to the request."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    parts = urllib.parse.urlsplit(url)
    added = {"x-amz-date": amz_date}
    if credentials.session_token:
        added["x-amz-security-token"] = credentials.session_token
    signed = {"host": parts.netloc}
    for name, value in {**headers, **added}.items():
        if name.startswith("x-amz-"):
            signed[name] = value
    names = sorted(signed)
    canonical_headers = "".join(f"{n}:{' '.join(signed[n].split())}\n" for n in names)
    canonical = "\n".join(
        [
            method,
            _canonical_uri(parts.path or "/"),
            _canonical_query(parts.query),
            canonical_headers,
            ";".join(names),
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/execute-api/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, digest])
    key = _hmac(("AWS4" + credentials.secret_access_key).encode("utf-8"), date)
    for part in (region, "execute-api", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    added["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return added


def _message_of(body: Any, text: str, status: int) -> str:
    if isinstance(body, dict):
        for key in ("message", "Message"):
            if isinstance(body.get(key), str):
                return body[key]
    return text if text else f"HTTP {status}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class _BaseClient:
    def __init__(
        self,
        base_url: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        credentials: Optional[Credentials] = None,
        token: Optional[str] = None,
        region: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        timeout: float = 30.0,
    ) -> None:
        """`base_url`: where the stage is served (DEFAULT_BASE_URL when absent); `api_key`: sent
        as `x-api-key` to the methods that require one; `credentials`: sign the AWS_IAM methods'
        requests (SigV4); `token`: for token-authorized methods (`Bearer <token>` for JWT and
        Cognito user pool methods, as it is for Lambda TOKEN authorizers); `region`: the SigV4
        region (DEFAULT_REGION when absent); `headers`: sent with every request."""
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key
        self.credentials = credentials
        self.token = token
        self.region = region or DEFAULT_REGION
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _call(
        self,
        method: str,
        path: str,
        query: List[Tuple[str, Any]],
        headers: Dict[str, Optional[str]],
        body: Any,
        model: bool,
        content_type: Optional[str],
        api_key: bool,
        auth: Tuple[str, str, bool],
    ) -> Response:
        pairs = [(k, _text(v)) for k, v in query if v is not None]
        url = self.base_url + path
        if pairs:
            url += "?" + "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
        all_headers = {**_STAGE_HEADERS, **self.headers}
        all_headers.update({k.lower(): v for k, v in headers.items() if v is not None})
        payload = b""
        if body is not None:
            raw = not model and isinstance(body, (str, bytes))
            if raw:
                payload = body.encode("utf-8") if isinstance(body, str) else body
            else:
                payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
            default_type = "application/octet-stream" if raw else "application/json"
            all_headers.setdefault("content-type", content_type or default_type)
        if api_key and self.api_key is not None:
            all_headers["x-api-key"] = self.api_key
        kind, header, bearer = auth
        if kind == "token" and self.token is not None:
            all_headers[header] = f"Bearer {self.token}" if bearer else self.token
        if kind == "iam" and self.credentials is not None:
            all_headers.update(
                sign_request(method, url, all_headers, payload, self.credentials, self.region)
            )
        all_headers["host"] = urllib.parse.urlsplit(url).netloc
        request = urllib.request.Request(
            url, data=payload if body is not None else None, headers=all_headers, method=method
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                status, reply_headers, data = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as err:
            status, reply_headers, data = err.code, err.headers, err.read()
        response_headers = {k.lower(): v for k, v in reply_headers.items()}
        text = data.decode("utf-8", errors="replace")
        parsed: Any = text
        if "json" in response_headers.get("content-type", "").lower() and text:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
        if not 200 <= status <= 299:
            raise ApiError(status, _message_of(parsed, text, status), response_headers, parsed)
        return Response(status, response_headers, parsed)
