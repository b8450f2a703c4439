/** Credentials of an AWS_IAM caller: an access key, with its session token when temporary. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ClientOptions {
  /** Where the stage is served; DEFAULT_BASE_URL when absent. */
  baseUrl?: string;
  /** Sent as `x-api-key` to the methods that require an API key. */
  apiKey?: string;
  /** Signs the AWS_IAM methods' requests (SigV4, service `execute-api`). */
  credentials?: Credentials;
  /** The token of token-authorized methods: `Bearer <token>` for JWT and Cognito user pool
   * methods, as it is for Lambda TOKEN authorizers. */
  token?: string;
  /** The SigV4 signing region; DEFAULT_REGION when absent. */
  region?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The `fetch` to send requests with; the global one when absent. */
  fetch?: typeof fetch;
}

export interface ApiResponse<T = unknown> {
  status: number;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  /** The body: parsed when it is JSON, else the text. */
  body: T;
}

/** A response whose status is not 2xx; `message` is the gateway's (or the API's) message. */
export class ApiError extends Error {
  readonly status: number;
  /** `x-amzn-ErrorType` of a gateway response. */
  readonly errorType?: string;
  /** `x-amzn-RequestId` of a gateway response. */
  readonly requestId?: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;

  constructor(status: number, message: string, headers: Record<string, string>, body: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.errorType = headers["x-amzn-errortype"];
    this.requestId = headers["x-amzn-requestid"];
  }
}

type Auth = { kind: "none" } | { kind: "iam" } | { kind: "token"; header: string; bearer: boolean };

interface Call {
  method: string;
  /** The path below the base URL, each parameter already encoded. */
  path: string;
  query: Array<[string, string | number | boolean | undefined]>;
  headers: Record<string, string | undefined>;
  /** `undefined`: no body. */
  body?: unknown;
  /** The body is a model: always sent as JSON. */
  model: boolean;
  contentType?: string;
  apiKey: boolean;
  auth: Auth;
}

const encoder = new TextEncoder();

function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Every byte but RFC 3986's unreserved characters (and `/` when `keepSlash`) as `%XY`. */
function encodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) {
      out += c;
    } else {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/** A path segment or query part, encoded as SigV4 encodes it. */
export function encode(value: string): string {
  return encodeBytes(utf8(value), false);
}

function encodePath(value: string | number, greedy: boolean): string {
  const text = String(value);
  return greedy ? text.split("/").map(encode).join("/") : encode(text);
}

/** `%XY` escapes decoded; anything else kept as it is. */
function percentDecode(text: string): Uint8Array {
  const bytes = utf8(text);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (bytes[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(bytes[i]);
    }
  }
  return Uint8Array.from(out);
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(await globalThis.crypto.subtle.digest("SHA-256", arrayBuffer(bytes)));
}

async function hmac(key: Uint8Array, data: string): Promise<Uint8Array> {
  const k = await globalThis.crypto.subtle.importKey(
    "raw",
    arrayBuffer(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", k, arrayBuffer(utf8(data))));
}

/** The path with `.`/`..` resolved and empty segments dropped, encoded again (`%` -> `%25`). */
function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segments.pop();
    else segments.push(s);
  }
  let out = segments.map((s) => "/" + s).join("");
  if (out === "" || path.endsWith("/")) out += "/";
  return encodeBytes(utf8(out), true);
}

/** Every parameter decoded, encoded the SigV4 way, sorted by name then value. */
function canonicalQuery(search: string): string {
  const query = search.startsWith("?") ? search.slice(1) : search;
  if (query === "") return "";
  const pairs = query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const eq = p.indexOf("=");
      const [k, v] = eq < 0 ? [p, ""] : [p.slice(0, eq), p.slice(eq + 1)];
      return [encodeBytes(percentDecode(k), false), encodeBytes(percentDecode(v), false)];
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** SigV4 (header form) for `execute-api`: the headers to add to the request. */
export async function signRequest(
  method: string,
  url: URL,
  headers: Record<string, string>,
  payload: Uint8Array,
  credentials: Credentials,
  region: string,
  now: Date = new Date(),
): Promise<Record<string, string>> {
  const amzDate = now.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
  const date = amzDate.slice(0, 8);
  const added: Record<string, string> = { "x-amz-date": amzDate };
  if (credentials.sessionToken) added["x-amz-security-token"] = credentials.sessionToken;
  const signed: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries({ ...headers, ...added })) {
    if (name.startsWith("x-amz-")) signed[name] = value;
  }
  const names = Object.keys(signed).sort();
  const canonicalHeaders = names
    .map((n) => `${n}:${signed[n].trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonical = [
    method,
    canonicalUri(url.pathname),
    canonicalQuery(url.search),
    canonicalHeaders,
    names.join(";"),
    await sha256Hex(payload),
  ].join("\n");
  const scope = `${date}/${region}/execute-api/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(utf8(canonical))].join("\n");
  let key = await hmac(utf8("AWS4" + credentials.secretAccessKey), date);
  for (const part of [region, "execute-api", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(arrayBuffer(await hmac(key, toSign)));
  added["authorization"] =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return added;
}

function lowerKeys(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}

function messageOf(body: unknown, text: string, status: number): string {
  if (typeof body === "object" && body !== null) {
    const record = body as Record<string, unknown>;
    for (const key of ["message", "Message"]) {
      if (typeof record[key] === "string") return record[key] as string;
    }
  }
  return text !== "" ? text : `HTTP ${status}`;
}

export class BaseClient {
  protected readonly options: ClientOptions;

  constructor(options: ClientOptions = {}) {
    this.options = options;
  }

  protected async call<T>(call: Call): Promise<ApiResponse<T>> {
    const base = (this.options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    const query = call.query
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encode(k)}=${encode(String(v))}`)
      .join("&");
    const url = new URL(base + call.path + (query ? "?" + query : ""));
    const headers = { ...STAGE_HEADERS, ...lowerKeys(this.options.headers), ...lowerKeys(call.headers) };
    let payload: Uint8Array = new Uint8Array();
    if (call.body !== undefined) {
      const raw = !call.model && (typeof call.body === "string" || call.body instanceof Uint8Array);
      if (raw) {
        payload = typeof call.body === "string" ? utf8(call.body) : (call.body as Uint8Array);
      } else {
        payload = utf8(JSON.stringify(call.body));
      }
      headers["content-type"] ??= call.contentType ?? (raw ? "application/octet-stream" : "application/json");
    }
    if (call.apiKey && this.options.apiKey !== undefined) headers["x-api-key"] = this.options.apiKey;
    const token = this.options.token;
    if (call.auth.kind === "token" && token !== undefined) {
      headers[call.auth.header] = call.auth.bearer ? `Bearer ${token}` : token;
    }
    if (call.auth.kind === "iam" && this.options.credentials) {
      const region = this.options.region ?? DEFAULT_REGION;
      Object.assign(headers, await signRequest(call.method, url, headers, payload, this.options.credentials, region));
    }
    const send = this.options.fetch ?? globalThis.fetch;
    const response = await send(url, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : arrayBuffer(payload),
    });
    const text = await response.text();
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      responseHeaders[name.toLowerCase()] = value;
    });
    let body: unknown = text;
    if (/json/i.test(responseHeaders["content-type"] ?? "") && text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (response.status < 200 || response.status > 299) {
      throw new ApiError(response.status, messageOf(body, text, response.status), responseHeaders, body);
    }
    return { status: response.status, headers: responseHeaders, body: body as T };
  }
}
