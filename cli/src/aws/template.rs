//! A SAM or CloudFormation template -> an [`Account`]. (Being written.)

use std::collections::BTreeMap;
use std::path::Path;

use super::Account;
use crate::openapi::Unhonoured;

/// What `read` needs besides the template.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--parameter NAME=VALUE` (a parameter's `Default` otherwise).
    pub parameters: BTreeMap<String, String>,
    /// `AWS::Region`; us-east-1 by default.
    pub region: Option<String>,
    /// `AWS::AccountId`; 000000000000 by default.
    pub account_id: Option<String>,
    /// `AWS::StackName`; the template file's stem by default.
    pub stack_name: Option<String>,
}

/// Reads the template's APIs, stages, keys, plans, domains and Lambda-backed `Api` events;
/// what it cannot resolve is refused naming the resource and property, what the gateway does
/// not do is reported.
pub fn read(path: &Path, options: &Options) -> Result<(Account, Vec<Unhonoured>), String> {
    let _ = (path, options);
    Err("reading a template is not written yet".into())
}
