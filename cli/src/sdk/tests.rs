use std::path::Path;

use super::*;

const SPEC: &str = r#"
gateway: {listen: "0.0.0.0:8000"}
api: {id: pet-store, region: eu-west-1}
authorizers:
  - {id: pool, type: COGNITO_USER_POOLS, identity_source: x-id-token, issuers: ["https://idp"]}
lambda_authorizers:
  - {id: tok, type: TOKEN, identity_source: method.request.header.X-Auth,
     function: {cluster: lambda, authority: lambda, name: auth}}
methods:
  - {resource: /pets, http_method: GET, operation_name: listPets, api_key_required: true,
     request_parameters: {method.request.header.X-Trace-Id: false, method.request.querystring.limit: true,
                          method.request.header.x-api-key: true, method.request.path.ignored: true}}
  - {resource: "/pets/{petId}", http_method: get, authorization_type: AWS_IAM,
     request_parameters: {method.request.querystring.petId: false, method.request.header.Authorization: false}}
  - {resource: /pets, http_method: POST, authorization_type: COGNITO_USER_POOLS, authorizer_id: pool,
     request_models: {text/plain: Other, application/json: NewPet}}
  - {resource: "/files/{path+}", http_method: ANY, authorization_type: CUSTOM, authorizer_id: tok}
  - {resource: /import, http_method: PUT, operation_name: import}
  - {resource: /import, http_method: DELETE, operation_name: import}
models:
  NewPet: {type: object, properties: {name: {type: string}}}
  Other: {type: string}
"#;

fn api(stage: Option<&str>, base_url: Option<&str>) -> Api {
    let spec = Spec::parse(Path::new("spec.yaml"), SPEC).unwrap();
    describe(&spec, stage, base_url).unwrap()
}

fn params(op: &Operation) -> Vec<(Location, &str, bool, bool)> {
    op.params.iter().map(|p| (p.location, p.wire.as_str(), p.required, p.greedy)).collect()
}

#[test]
fn operations_take_their_names_parameters_body_and_auth_from_the_methods() {
    let api = api(None, None);
    assert_eq!(api.client, "PetStoreClient");
    assert_eq!(
        (api.base_url.as_str(), api.region.as_str()),
        ("http://localhost:8000", "eu-west-1")
    );
    let [list, get, post, any, put, delete] = api.operations.as_slice() else { panic!() };

    assert_eq!(names::camel(&list.words), "listPets");
    assert_eq!(list.params_type, "ListPetsParams");
    // Path, query, header; x-api-key is the client's own option.
    assert_eq!(
        params(list),
        [(Location::Query, "limit", true, false), (Location::Header, "X-Trace-Id", false, false)]
    );
    assert!(list.api_key && list.auth == Auth::None && matches!(list.body, Body::None));

    assert_eq!(names::camel(&get.words), "getPetsPetId");
    assert_eq!(get.verb.as_deref(), Some("GET"));
    // The signature's Authorization header is not a parameter.
    assert_eq!(
        params(get),
        [(Location::Path, "petId", true, false), (Location::Query, "petId", false, false)]
    );
    assert_eq!(get.auth, Auth::Iam);
    assert!(!get.api_key);

    assert_eq!(names::snake(&post.words), "post_pets");
    assert_eq!(post.auth, Auth::Token { header: "x-id-token".into(), bearer: true });
    match &post.body {
        Body::Model { ty, content_type } => {
            assert_eq!(
                (ty, content_type.as_str()),
                (&Type::Named("NewPet".into()), "application/json")
            )
        }
        other => panic!("{other:?}"),
    }

    assert_eq!(names::camel(&any.words), "anyFilesPath");
    assert_eq!(any.verb, None);
    assert_eq!(params(any), [(Location::Path, "path", true, true)]);
    assert_eq!(any.auth, Auth::Token { header: "x-auth".into(), bearer: false });
    assert!(matches!(any.body, Body::Free));
    assert!(matches!(put.body, Body::Free) && matches!(delete.body, Body::None));
    assert_eq!(
        get.summary(),
        "GET /pets/{petId} (AWS_IAM: SigV4-signed with the client's credentials)"
    );
    assert_eq!(list.summary(), "GET /pets (API key)");
}

#[test]
fn the_base_url_comes_from_the_listener_and_the_stage() {
    let mut spec = Spec::parse(Path::new("spec.yaml"), SPEC).unwrap();
    let err = describe(&spec, Some("dev"), None).unwrap_err();
    assert_eq!(err, "the spec serves one stage, `prod`, not `dev`");
    assert_eq!(
        api(Some("prod"), Some("https://api.example.com/v1/")).base_url,
        "https://api.example.com/v1"
    );

    spec.config.stages = vec![
        tollgate_core::config::Stage { name: "dev".into(), ..Default::default() },
        tollgate_core::config::Stage { name: "prod".into(), ..Default::default() },
    ];
    spec.gateway.listen = "127.0.0.1:9000".into();
    let api = describe(&spec, None, None).unwrap();
    assert_eq!((api.stage.as_str(), api.base_url.as_str()), ("dev", "http://127.0.0.1:9000/dev"));
    assert_eq!(describe(&spec, Some("prod"), None).unwrap().base_url, "http://127.0.0.1:9000/prod");
    let err = describe(&spec, Some("qa"), None).unwrap_err();
    assert_eq!(err, "no stage `qa` in the spec (stages: dev, prod)");

    spec.config.stage_selection.path_prefix = false;
    spec.config.stage_selection.header = Some("Accept-Version".into());
    let api = describe(&spec, Some("prod"), None).unwrap();
    assert_eq!(api.base_url, "http://127.0.0.1:9000");
    assert_eq!(api.stage_header, Some(("accept-version".into(), "prod".into())));

    assert!(describe(&spec, None, Some("ftp://x")).unwrap_err().contains("not an http"));
    spec.gateway.listen = "nowhere".into();
    assert!(describe(&spec, None, None).unwrap_err().contains("not address:port"));
    spec.gateway.listen = "[::]:80".into();
    assert_eq!(describe(&spec, None, None).unwrap().base_url, "http://localhost:80");
}

#[test]
fn path_expressions_quote_the_literal_parts() {
    let param = |name: &str| format!("p({name})");
    assert_eq!(path_expr("/pets/{petId}/toys", param), r#""/pets/" + p(petId) + "/toys""#);
    assert_eq!(path_expr("/{proxy+}", param), r#""/" + p(proxy)"#);
    assert_eq!(path_expr("/", param), r#""/""#);
    assert_eq!(path_expr("/a\"b", param), r#""/a\"b""#);
}

#[test]
fn typescript_writes_interfaces_params_and_methods() {
    let files = typescript::render(&api(None, None));
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["src/client.ts", "package.json", "tsconfig.json"]);
    let client = &files[0].1;
    for expected in [
        "export const DEFAULT_BASE_URL = \"http://localhost:8000\";",
        "export const DEFAULT_REGION = \"eu-west-1\";",
        "export interface NewPet {\n  name?: string;\n}",
        "export type Other = string;",
        "export interface ListPetsParams {\n  /** Query string parameter `limit`. */\n  limit: string | number | boolean;\n  /** Header `X-Trace-Id`. */\n  xTraceId?: string;\n}",
        "async listPets(params: ListPetsParams): Promise<ApiResponse> {",
        "query: [[\"limit\", params.limit]],\n      headers: { \"X-Trace-Id\": params.xTraceId },",
        "path: \"/pets/\" + encodePath(params.petId, false),",
        "query: [[\"petId\", params.petIdQuery]],",
        "auth: { kind: \"iam\" },",
        "auth: { kind: \"token\", header: \"x-id-token\", bearer: true },",
        "body: params.body,\n      model: true,\n      contentType: \"application/json\",",
        "method: params.method.toUpperCase(),\n      path: \"/files/\" + encodePath(params.path, true),",
        "async import(params: ImportParams = {}): Promise<ApiResponse> {",
        "async import2(): Promise<ApiResponse> {",
        "export class PetStoreClient extends BaseClient {",
    ] {
        assert!(client.contains(expected), "missing {expected:?} in\n{client}");
    }
    let package: serde_json::Value = serde_json::from_str(&files[1].1).unwrap();
    assert_eq!(package["name"], "pet-store-client");
    assert_eq!(package.get("dependencies"), None);
}

#[test]
fn python_writes_typed_dicts_and_keyword_methods() {
    let api = api(None, None);
    let files = python::render(&api);
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["pet_store_client/__init__.py", "pyproject.toml"]);
    let module = &files[0].1;
    for expected in [
        "DEFAULT_BASE_URL = \"http://localhost:8000\"",
        "class NewPet(TypedDict, total=False):\n    name: str\n",
        "Other = str\n",
        "def list_pets(\n        self,\n        *,\n        limit: Union[str, int, float, bool],\n        x_trace_id: Optional[str] = None,\n    ) -> Response:",
        "query=[(\"limit\", limit)],\n            headers={\"X-Trace-Id\": x_trace_id},",
        "def get_pets_pet_id(\n        self,\n        *,\n        pet_id: Union[str, int],\n        pet_id_query: Optional[Union[str, int, float, bool]] = None,\n    ) -> Response:",
        "path=\"/pets/\" + _encode_path(pet_id, False),",
        "def post_pets(self, *, body: NewPet) -> Response:",
        "auth=(\"token\", \"x-id-token\", True),",
        "def any_files_path(self, *, method: str, path: Union[str, int], body: Any = None) -> Response:",
        "auth=(\"token\", \"x-auth\", False),",
        "def import_(self, *, body: Any = None) -> Response:",
        "def import_2(self) -> Response:",
        "class PetStoreClient(_BaseClient):",
    ] {
        assert!(module.contains(expected), "missing {expected:?} in\n{module}");
    }
    assert!(files[1].1.contains("name = \"pet-store-client\"\n"));
}

#[test]
fn python_spells_odd_field_names_and_orders_bases_and_aliases() {
    let spec = r#"
api: {id: x}
models:
  Zed: {allOf: [{$ref: "https://apigateway.amazonaws.com/restapis/x/models/Base"},
                {type: object, properties: {extra: {type: string}}}]}
  Base: {type: object, required: [from], properties: {from: {type: string}, first-name: {type: string}}}
  AList: {type: array, items: {$ref: "https://apigateway.amazonaws.com/restapis/x/models/BList"}}
  BList: {type: array, items: {$ref: "https://apigateway.amazonaws.com/restapis/x/models/Zed"}}
"#;
    let spec = Spec::parse(Path::new("s.yaml"), spec).unwrap();
    let module = python::render(&describe(&spec, None, None).unwrap()).remove(0).1;
    let at =
        |needle: &str| module.find(needle).unwrap_or_else(|| panic!("no {needle:?} in\n{module}"));
    assert!(module.contains("_BaseRequired = TypedDict(\"_BaseRequired\", {\"from\": str})"));
    assert!(module.contains(
        "_BaseOptional = TypedDict(\"_BaseOptional\", {\"first-name\": str}, total=False)"
    ));
    assert!(module.contains("class Zed(Base, total=False):\n    extra: str\n"), "{module}");
    assert!(at("class Base(") < at("class Zed("));
    assert!(at("BList = List[Zed]") < at("AList = List[BList]"));
}
