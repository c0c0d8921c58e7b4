//! Placeholder until the CPU model lands.
use crate::error::ParseError;
use crate::snapshot::CpuidDump;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
pub struct CpuModel {
    pub source: String,
    pub vendor: Option<String>,
    pub family: Option<u32>,
    pub model: Option<u32>,
    pub stepping: Option<u32>,
    pub brand: Option<String>,
    pub codename: Option<String>,
    pub vmx: Option<bool>,
    pub svm: Option<bool>,
    pub hypervisor: Option<bool>,
}
impl CpuModel {
    pub fn from_cpuid(_d: &CpuidDump) -> CpuModel {
        CpuModel::default()
    }
    pub fn from_cpuinfo(_t: &str) -> Result<CpuModel, ParseError> {
        Err(ParseError::new("not implemented"))
    }
    pub fn merge_missing(&mut self, _o: &CpuModel) {}
}
