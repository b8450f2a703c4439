//! Stages: `AWS::ApiGateway::Stage`, and the stage a `Deployment` with a `StageName` makes.

use serde_json::{json, Map, Value};

use super::props::Props;
use super::{Builder, Resource, CLIENT_CERTIFICATE};

impl Builder<'_> {
    pub(super) fn stage(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let name = r.props.required("StageName")?;
        let stage = self.stage_item(&r.props, name, false)?;
        self.add_stage(&api, stage, &r.props.at("StageName"));
        Ok(())
    }

    /// A deployment with a `StageName` makes that stage, set by its `StageDescription`.
    pub(super) fn deployment(&mut self, r: &Resource) -> Result<(), String> {
        if r.props.has("DeploymentCanarySettings") {
            self.report.add(
                r.props.at("DeploymentCanarySettings"),
                "canary deployments are not read: the stage serves this deployment",
            );
        }
        let Some(name) = r.props.text("StageName")? else { return Ok(()) };
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let stage = match r.props.nested("StageDescription")? {
            Some(description) => self.stage_item(&description, name, true)?,
            None => json!({"stageName": name}),
        };
        self.add_stage(&api, stage, &r.props.at("StageName"));
        Ok(())
    }

    fn add_stage(&mut self, api: &str, stage: Value, at: &str) {
        let Some(api) = self.apis.get_mut(api) else { return };
        let name = stage.get("stageName").cloned();
        if api.rest.stages.iter().any(|s| s.get("stageName") == name.as_ref()) {
            self.report.add(
                at,
                "another resource makes a stage of that name for this API (CloudFormation fails \
                 to make the second): the first is kept",
            );
            return;
        }
        api.rest.stages.push(stage);
    }

    /// A `Stage`'s properties, or a `Deployment`'s `StageDescription` (whose top-level method
    /// settings are the stage's `*/*`).
    fn stage_item(&mut self, p: &Props, name: String, description: bool) -> Result<Value, String> {
        let mut stage = p.camel(&[
            "Description",
            "Variables",
            "CacheClusterEnabled",
            "CacheClusterSize",
            "TracingEnabled",
        ])?;
        stage.insert("stageName".into(), json!(name));
        let mut settings = Map::new();
        if description {
            let all = p.camel(&METHOD_SETTINGS)?;
            if !all.is_empty() {
                settings.insert("*/*".into(), Value::Object(all));
            }
        }
        for item in p.items("MethodSettings")? {
            let path = item.text("ResourcePath")?.unwrap_or_else(|| "/*".into());
            let method = item.text("HttpMethod")?.unwrap_or_else(|| "*".into());
            // `/~1pets~1{id}` is `/pets/{id}`, whose key is `pets/{id}/GET`.
            let path = path.replace("~1", "/");
            let path = path.trim_start_matches('/');
            let entry = settings.entry(format!("{path}/{method}")).or_insert_with(|| json!({}));
            if let Some(entry) = entry.as_object_mut() {
                entry.extend(item.camel(&METHOD_SETTINGS)?);
            }
            item.unread(
                &[&METHOD_SETTINGS[..], &["ResourcePath", "HttpMethod"]].concat(),
                self.report,
            );
        }
        if !settings.is_empty() {
            stage.insert("methodSettings".into(), Value::Object(settings));
        }
        if let Some(canary) = p.nested("CanarySetting")? {
            stage.insert(
                "canarySettings".into(),
                Value::Object(canary.camel(&[
                    "PercentTraffic",
                    "DeploymentId",
                    "StageVariableOverrides",
                    "UseStageCache",
                ])?),
            );
        }
        if let Some(logs) = p.nested("AccessLogSetting")? {
            stage.insert("accessLogSettings".into(), Value::Object(logs.camel(&["Format"])?));
            if logs.has("DestinationArn") {
                self.report.add(
                    logs.at("DestinationArn"),
                    "access logs go where the gateway's Envoy config sends them, not to \
                     CloudWatch Logs or Firehose",
                );
            }
        }
        if p.has("ClientCertificateId") {
            self.report.add(p.at("ClientCertificateId"), CLIENT_CERTIFICATE);
        }
        let read = [
            &METHOD_SETTINGS[..],
            &[
                "Description",
                "Variables",
                "CacheClusterEnabled",
                "CacheClusterSize",
                "TracingEnabled",
                "MethodSettings",
                "CanarySetting",
                "AccessLogSetting",
                "ClientCertificateId",
                "StageName",
                "RestApiId",
                "DeploymentId",
                "DocumentationVersion",
            ],
        ]
        .concat();
        p.unread(&read, self.report);
        Ok(Value::Object(stage))
    }
}

const METHOD_SETTINGS: [&str; 8] = [
    "CacheDataEncrypted",
    "CacheTtlInSeconds",
    "CachingEnabled",
    "DataTraceEnabled",
    "LoggingLevel",
    "MetricsEnabled",
    "ThrottlingBurstLimit",
    "ThrottlingRateLimit",
];
