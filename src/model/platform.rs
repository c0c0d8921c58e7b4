//! Placeholder until the platform model lands.
use crate::snapshot::SmbiosRaw;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
pub struct Platform {
    pub bios_vendor: Option<String>,
    pub bios_version: Option<String>,
    pub system_vendor: Option<String>,
    pub system_product: Option<String>,
    pub notes: Vec<String>,
}
impl Platform {
    pub fn from_smbios(_r: &SmbiosRaw) -> Platform {
        Platform::default()
    }
}
