//! Windows Server generation from the `operatingSystemVersion` build number.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum OsGeneration {
    Ws2012,
    Ws2012R2,
    Ws2016,
    Ws2019,
    Ws2022,
    Ws2025,
    /// Missing or unrecognised build: never guessed.
    Unknown,
}

impl OsGeneration {
    /// Known builds only; anything else (including client builds in between) is unknown.
    pub fn from_build(build: Option<u32>) -> OsGeneration {
        match build {
            Some(9200) => OsGeneration::Ws2012,
            Some(9600) => OsGeneration::Ws2012R2,
            Some(14393) => OsGeneration::Ws2016,
            Some(17763) => OsGeneration::Ws2019,
            Some(20348) => OsGeneration::Ws2022,
            Some(26100) => OsGeneration::Ws2025,
            _ => OsGeneration::Unknown,
        }
    }

    /// From an `operatingSystemVersion` value such as `10.0 (20348)`.
    pub fn from_version(version: Option<&str>) -> OsGeneration {
        OsGeneration::from_build(version.and_then(crate::model::os_build))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OsGeneration::Ws2012 => "2012",
            OsGeneration::Ws2012R2 => "2012 R2",
            OsGeneration::Ws2016 => "2016",
            OsGeneration::Ws2019 => "2019",
            OsGeneration::Ws2022 => "2022",
            OsGeneration::Ws2025 => "2025",
            OsGeneration::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_builds_map_and_others_are_unknown() {
        assert_eq!(OsGeneration::from_build(Some(9200)), OsGeneration::Ws2012);
        assert_eq!(OsGeneration::from_build(Some(9600)), OsGeneration::Ws2012R2);
        assert_eq!(OsGeneration::from_build(Some(14393)), OsGeneration::Ws2016);
        assert_eq!(OsGeneration::from_build(Some(17763)), OsGeneration::Ws2019);
        assert_eq!(OsGeneration::from_build(Some(20348)), OsGeneration::Ws2022);
        assert_eq!(OsGeneration::from_build(Some(26100)), OsGeneration::Ws2025);
        assert_eq!(OsGeneration::from_build(Some(19045)), OsGeneration::Unknown);
        assert_eq!(OsGeneration::from_build(None), OsGeneration::Unknown);
        assert_eq!(
            OsGeneration::from_version(Some("6.3 (9600)")).as_str(),
            "2012 R2"
        );
        assert_eq!(OsGeneration::from_version(Some("10.0")).as_str(), "unknown");
    }
}
