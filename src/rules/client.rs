//! Rules on the operator's own side (`SSH8xx`): what this machine's ssh would do with the key
//! file and the known_hosts entry it would use, judged against the guest's facts where they
//! matter (the host keys sshd really serves). Like the cloud rules, each is a [`Rule`] whose
//! guest check finds nothing; the real check reads [`ClientEvidence`]. Their findings are
//! warnings: the guest may be fine, and lifeline's own login may succeed, while the operator's
//! ssh still refuses.

use super::*;
use crate::login::client_facts::ClientFacts;

/// What a client rule judges.
pub struct ClientEvidence<'a> {
    pub client: &'a ClientFacts,
    /// `None` when the console could not be used.
    pub guest: Option<&'a Facts>,
}

/// A client rule's check, beside its catalogue entry.
pub struct ClientCheck {
    pub rule: &'static Rule,
    pub check: fn(&ClientEvidence) -> Option<Finding>,
}

/// What the catalogue entries of client rules share (the client category, no guest check, no
/// fix); a rule file takes them with `..CLIENT_RULE`.
pub(crate) const CLIENT_RULE: Rule = super::cloud::outside_the_guest(Category::Client);

/// Runs the client rules and adds their findings to `findings`, in report order.
pub fn evaluate(
    client: &ClientFacts,
    guest: Option<&Facts>,
    mut findings: Vec<Finding>,
) -> Vec<Finding> {
    let evidence = ClientEvidence { client, guest };
    findings.extend(
        super::client_checks()
            .iter()
            .filter_map(|c| (c.check)(&evidence)),
    );
    findings.sort_by_key(|f| (f.severity, f.kind));
    findings
}
