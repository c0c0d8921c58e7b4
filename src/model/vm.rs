//! Placeholder until the VM model lands.
use crate::snapshot::RawBytes;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
pub struct VmModel {
    pub name: Option<String>,
}
impl VmModel {
    pub fn from_argv(_a: &[RawBytes]) -> VmModel {
        VmModel::default()
    }
}
