//! The few top-level fields intake reads from a JSON body, read while validating it.

use serde_json::Value;

use crate::json_validation::{self, Member, Shape};

/// The top-level `id`, `type` and `challenge` of a JSON body, when they are strings.
///
/// Intake used to deserialize this struct with serde_json (each field through
/// `serde_json::Value`, keeping strings only) after separate UTF-8 and nesting checks, and on
/// a data error (a repeated field) validate the body again with `IgnoredAny` and keep no
/// field. [`JsonProbe::read`] gives the same answer in one pass; what that answer is, quirks
/// included, is listed there and held to the old code by `json_probe/tests.rs`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct JsonProbe {
    pub(crate) id: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) challenge: Option<String>,
}

/// The fields the probe keeps, by their JSON names.
const FIELDS: [&[u8]; 3] = [b"id", b"type", b"challenge"];

impl JsonProbe {
    /// `None` when the body is not JSON intake accepts ([`json_validation`]). Otherwise, for
    /// a top-level object, each of its members up to the first repeat of a field's key, in
    /// order, is read as serde_json's derived `Deserialize` read it:
    ///
    /// * the key as a `String` (so escapes are decoded, and a `\u` escape of a lone
    ///   surrogate, which `IgnoredAny` lets through, refuses the body);
    /// * a field's value as a `serde_json::Value` (so a number too large for an `f64`, or a
    ///   lone surrogate escape anywhere inside, refuses the body), kept when it is a string.
    ///
    /// A repeated field's key makes the derived code fail with a data error, after which the
    /// old code kept no field and accepted whatever `IgnoredAny` accepts: so does this.
    /// Members are few and these reads are of a few short strings, apart from a field whose
    /// value is a large object or array, read twice.
    #[cfg(test)]
    pub(crate) fn read(body: &[u8]) -> Option<Self> {
        Self::read_with_shape(body).map(|(probe, _)| probe)
    }

    /// [`JsonProbe::read`], and the body's [`Shape`].
    pub(crate) fn read_with_shape(body: &[u8]) -> Option<(Self, Shape)> {
        let mut fields: [Option<Option<String>>; 3] = Default::default();
        let mut repeated = false;
        let shape = json_validation::validate(body, |member| {
            if repeated {
                return true;
            }
            match Self::read_member(member, &mut fields) {
                Some(MemberRead::Done) => true,
                Some(MemberRead::Repeated) => {
                    repeated = true;
                    true
                }
                None => false,
            }
        })?;
        if repeated {
            return Some((JsonProbe::default(), shape));
        }
        let [id, kind, challenge] = fields.map(Option::flatten);
        Some((JsonProbe { id, kind, challenge }, shape))
    }

    /// Reads one top-level member into `fields`; `None` when serde_json would have refused it.
    fn read_member(member: Member<'_>, fields: &mut [Option<Option<String>>; 3]) -> Option<MemberRead> {
        let raw_key = &member.key[1..member.key.len() - 1];
        let slot = if raw_key.contains(&b'\\') {
            let key = serde_json::from_slice::<String>(member.key).ok()?;
            FIELDS.iter().position(|field| *field == key.as_bytes())
        } else {
            FIELDS.iter().position(|field| *field == raw_key)
        };
        let Some(slot) = slot else { return Some(MemberRead::Done) };
        if fields[slot].is_some() {
            return Some(MemberRead::Repeated);
        }
        fields[slot] = Some(match serde_json::from_slice::<Value>(member.value).ok()? {
            Value::String(text) => Some(text),
            _ => None,
        });
        Some(MemberRead::Done)
    }

    pub(crate) fn slack_challenge(&self) -> Option<String> {
        (self.kind.as_deref() == Some("url_verification")).then(|| self.challenge.clone()).flatten()
    }
}

enum MemberRead {
    Done,
    /// The key of a field already read.
    Repeated,
}

#[cfg(test)]
mod tests;
