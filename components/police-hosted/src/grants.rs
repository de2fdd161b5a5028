//! Which skills the Brain may reach: a `channel:NAME` capability in the Brain's manifest entry
//! for each. Anything else the Brain asks for is refused (and the police logs it).

use hive_manifest::caps;
use hive_manifest::caps::Capability;

#[derive(Clone, Debug)]
pub struct Grants {
    brain: Vec<Capability>,
    skills: Vec<String>,
}

impl Grants {
    /// The Brain's capabilities and the skills the hive has.
    pub fn new(brain: &[Capability], skills: impl IntoIterator<Item = String>) -> Self {
        Self {
            brain: brain.to_vec(),
            skills: skills.into_iter().collect(),
        }
    }

    /// Whether the Brain may send to `skill`; the refusal in words if not.
    pub fn check(&self, skill: &str) -> Result<(), String> {
        if !self.skills.iter().any(|s| s == skill) {
            return Err(format!("the hive has no skill `{skill}`"));
        }
        if !caps::has_channel(&self.brain, skill) {
            return Err(format!(
                "the Brain holds no channel to `{skill}` (its manifest entry would need \
                 `channel:{skill}`)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(peer: &str) -> Capability {
        Capability::Channel {
            peer: peer.to_owned(),
        }
    }

    #[test]
    fn the_brain_reaches_only_skills_it_holds_a_channel_to() {
        let grants = Grants::new(&[channel("pdf")], ["pdf".to_owned(), "net".to_owned()]);
        assert_eq!(grants.check("pdf"), Ok(()));
        let refused = grants.check("net").unwrap_err();
        assert!(refused.contains("no channel to `net`"), "{refused}");
        let unknown = grants.check("mail").unwrap_err();
        assert!(unknown.contains("no skill `mail`"), "{unknown}");
    }
}
