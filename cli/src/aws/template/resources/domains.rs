//! Custom domain names and their base path mappings.

use serde_json::{json, Value};

use super::{Builder, Resource};
use crate::aws::DomainName;

const ACM_CERTIFICATE: &str = "an ACM certificate does not leave AWS: give the domain's PEM \
     certificate and key in the gateway file";

impl Builder<'_> {
    pub(super) fn domain_name(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let name = p.required("DomainName")?;
        for certificate in ["CertificateArn", "RegionalCertificateArn"] {
            if p.has(certificate) {
                self.report.add(p.at(certificate), ACM_CERTIFICATE);
            }
        }
        for (key, why) in [
            (
                "EndpointConfiguration",
                "the gateway listens where its Envoy listener does: endpoint types are not used",
            ),
            ("MutualTlsAuthentication", "the truststore is in S3: the gateway does not read it"),
            ("OwnershipVerificationCertificateArn", "an ACM certificate does not leave AWS"),
        ] {
            if p.has(key) {
                self.report.add(p.at(key), why);
            }
        }
        let mut domain = p.camel(&["SecurityPolicy"])?;
        domain.insert("domainName".into(), json!(name));
        p.unread(
            &[
                "DomainName",
                "CertificateArn",
                "RegionalCertificateArn",
                "EndpointConfiguration",
                "MutualTlsAuthentication",
                "OwnershipVerificationCertificateArn",
                "SecurityPolicy",
            ],
            self.report,
        );
        self.domains
            .insert(name, DomainName { domain: Value::Object(domain), mappings: Vec::new() });
        Ok(())
    }

    pub(super) fn base_path_mapping(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let name = p.required("DomainName")?;
        let api = p.required("RestApiId")?;
        if !self.apis.contains_key(&api) {
            self.report.add(
                p.at("RestApiId"),
                format!("the REST API `{api}` is not defined in the template"),
            );
        }
        // `GetBasePathMappings` says `(none)` for the domain's root.
        let base_path = p.text("BasePath")?.filter(|b| !b.is_empty());
        let base_path = base_path.unwrap_or_else(|| "(none)".into());
        let mut mapping = json!({"basePath": base_path, "restApiId": api});
        if let (Some(stage), Some(map)) = (p.text("Stage")?, mapping.as_object_mut()) {
            map.insert("stage".into(), json!(stage));
        }
        if !self.domains.contains_key(&name) {
            self.report.add(
                p.at("DomainName"),
                "the domain is defined outside the template: give its PEM certificate and key in \
                 the gateway file",
            );
        }
        let domain = self.domains.entry(name.clone()).or_insert_with(|| DomainName {
            domain: json!({"domainName": name}),
            mappings: Vec::new(),
        });
        domain.mappings.push(mapping);
        p.unread(&["DomainName", "RestApiId", "BasePath", "Stage", "Id"], self.report);
        Ok(())
    }
}
