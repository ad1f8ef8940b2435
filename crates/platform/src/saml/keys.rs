//! RSA keys: the identity provider's public key that signatures are checked against
//! (`IdpKey`, loaded from the certificate an operator configures), and the mock identity
//! provider's key pair (`IdpSigner`).

use std::fmt;

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::{KeyPair, KeySize, PublicKey},
    signature::{self, KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey},
};
use sha2::{Digest, Sha256};
use x509_cert::{Certificate, der::Decode, spki::ObjectIdentifier};

use super::{SamlError, xml::decode_base64};

/// `rsaEncryption` (PKCS #1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// The identity provider's RSA public key: the only key whose signatures we accept.
///
/// Only the key is taken from the certificate. Its validity dates, issuer and extensions are
/// not checked, as is usual for SAML metadata certificates (often self-signed and long
/// expired): trust comes from the operator having configured this exact key.
#[derive(Clone, PartialEq, Eq)]
pub struct IdpKey(Option<Vec<u8>>); // DER RSAPublicKey (PKCS #1); `None` verifies nothing.

impl IdpKey {
    /// Reads the key from an X.509 certificate in PEM, or from the bare base64 body of one
    /// (as IdP metadata carries it in `ds:X509Certificate`). Exactly one certificate.
    pub fn from_certificate_pem(pem: &str) -> Result<Self, SamlError> {
        let der = match pem_body(pem, "CERTIFICATE")? {
            Some(body) => body,
            None => decode_base64(pem.trim())
                .ok_or(SamlError::Key("expected a PEM or base64 X.509 certificate"))?,
        };
        Self::from_certificate_der(&der)
    }

    /// Reads the key from a DER X.509 certificate. Only RSA keys of 2048 to 8192 bits.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, SamlError> {
        let certificate = Certificate::from_der(der)
            .map_err(|_| SamlError::Key("not a DER X.509 certificate"))?;
        let spki = certificate.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(SamlError::Key(
                "only RSA identity provider keys are supported",
            ));
        }
        let pkcs1 = spki
            .subject_public_key
            .as_bytes()
            .ok_or(SamlError::Key("malformed public key in the certificate"))?;
        Self::from_rsa_public_key_der(pkcs1)
    }

    /// A key that verifies nothing: lets an `SpConfig` describe our side (metadata) before an
    /// IdP is configured. Every response validated with it is refused.
    pub fn none() -> Self {
        IdpKey(None)
    }

    /// Reads a DER `RSAPublicKey` (PKCS #1).
    pub(crate) fn from_rsa_public_key_der(pkcs1: &[u8]) -> Result<Self, SamlError> {
        let key = PublicKey::from_der(pkcs1)
            .map_err(|_| SamlError::Key("not a usable RSA public key"))?;
        let bits = key.modulus_len() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(SamlError::Key("the RSA key must have 2048 to 8192 bits"));
        }
        Ok(IdpKey(Some(key.as_ref().to_vec())))
    }

    /// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub(crate) fn verify_rsa_sha256(&self, message: &[u8], sig: &[u8]) -> Result<(), SamlError> {
        let pkcs1 = self.0.as_deref().ok_or(SamlError::Signature(
            "no identity provider key is configured",
        ))?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1)
            .verify(message, sig)
            .map_err(|_| SamlError::Signature("the signature does not verify"))
    }
}

impl fmt::Debug for IdpKey {
    /// The key's SHA-256 fingerprint (of the PKCS #1 encoding), enough to tell keys apart in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(pkcs1) => {
                let digest = Sha256::digest(pkcs1);
                write!(f, "IdpKey(rsa, sha256:{})", hex::encode(&digest[..8]))
            }
            None => f.write_str("IdpKey(none)"),
        }
    }
}

/// The mock identity provider's RSA key pair. It signs SAML responses and, for the mock Google
/// issuer, RS256 JWTs.
pub struct IdpSigner {
    pair: KeyPair,
    pkcs8: Vec<u8>,
}

impl IdpSigner {
    /// A fresh RSA 2048 key pair.
    pub fn generate() -> Result<Self, SamlError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| SamlError::Crypto)?;
        let pkcs8 = pair.as_der().map_err(|_| SamlError::Crypto)?;
        let pkcs8 = pkcs8.as_ref().to_vec();
        Ok(IdpSigner { pair, pkcs8 })
    }

    /// Loads a PKCS #8 DER RSA private key (2048 to 8192 bits).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SamlError> {
        let pair = KeyPair::from_pkcs8(der)
            .map_err(|_| SamlError::Key("not a PKCS #8 RSA private key"))?;
        let bits = pair.public_modulus_len() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(SamlError::Key("the RSA key must have 2048 to 8192 bits"));
        }
        Ok(IdpSigner {
            pair,
            pkcs8: der.to_vec(),
        })
    }

    /// Loads a PEM `PRIVATE KEY` (PKCS #8), as `openssl genpkey` writes it.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SamlError> {
        let der = pem_body(pem, "PRIVATE KEY")?
            .ok_or(SamlError::Key("expected a PEM PRIVATE KEY (PKCS #8)"))?;
        Self::from_pkcs8_der(&der)
    }

    /// The private key as PKCS #8 DER, for storage.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        self.pkcs8.clone()
    }

    /// The public half, for an SP that trusts this signer without a certificate.
    pub fn public_key(&self) -> IdpKey {
        IdpKey(Some(self.pair.public_key().as_ref().to_vec()))
    }

    /// The RSA modulus and public exponent, big-endian without leading zeros (JWK `n`, `e`).
    pub fn rsa_public_components(&self) -> (Vec<u8>, Vec<u8>) {
        let public = self.pair.public_key();
        (
            public.modulus().big_endian_without_leading_zero().to_vec(),
            public.exponent().big_endian_without_leading_zero().to_vec(),
        )
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message` (JWS `RS256`, XML-DSig `rsa-sha256`).
    #[allow(
        clippy::expect_used,
        reason = "signing with a validated key into a modulus-sized buffer cannot fail"
    )]
    pub fn sign_rs256(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        // aws-lc signs with a key it has already validated into a buffer of the modulus size;
        // what is left to fail is allocation inside the library, which Rust would abort on too.
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut sig,
            )
            .expect("RSA PKCS#1 v1.5 signing with a validated key cannot fail");
        sig
    }
}

impl fmt::Debug for IdpSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdpSigner({:?})", self.public_key())
    }
}

/// The bytes of the one PEM block labelled `label` in `text`; `None` when there is no PEM
/// armour at all. Text around the block (e.g. `openssl x509 -text` output) is ignored.
fn pem_body(text: &str, label: &str) -> Result<Option<Vec<u8>>, SamlError> {
    if !text.contains("-----BEGIN ") {
        return Ok(None);
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = text.split(begin.as_str()).skip(1);
    let (Some(block), None) = (blocks.next(), blocks.next()) else {
        return Err(SamlError::Key(
            "expected exactly one PEM block of the right kind",
        ));
    };
    let (body, _) = block
        .split_once(end.as_str())
        .ok_or(SamlError::Key("unterminated PEM block"))?;
    decode_base64(body)
        .map(Some)
        .ok_or(SamlError::Key("invalid base64 in the PEM block"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDP_CRT: &str = include_str!("fixtures/idp.crt");
    const IDP_KEY: &str = include_str!("fixtures/idp.key");

    #[test]
    fn certificate_loads_from_pem_and_from_its_bare_base64_body() {
        let from_pem = IdpKey::from_certificate_pem(IDP_CRT).unwrap();
        let body: String = IDP_CRT
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(IdpKey::from_certificate_pem(&body).unwrap(), from_pem);
        let der = decode_base64(&body).unwrap();
        assert_eq!(IdpKey::from_certificate_der(&der).unwrap(), from_pem);
    }

    #[test]
    fn the_certificate_key_is_the_private_keys_public_half() {
        let signer = IdpSigner::from_pkcs8_pem(IDP_KEY).unwrap();
        let key = IdpKey::from_certificate_pem(IDP_CRT).unwrap();
        assert_eq!(signer.public_key(), key);
        let sig = signer.sign_rs256(b"hello");
        assert!(key.verify_rsa_sha256(b"hello", &sig).is_ok());
        assert!(key.verify_rsa_sha256(b"hellO", &sig).is_err());
    }

    #[test]
    fn garbage_and_foreign_keys_are_refused() {
        assert!(IdpKey::from_certificate_pem("not a certificate").is_err());
        assert!(IdpKey::from_certificate_pem(IDP_KEY).is_err());
        assert!(IdpKey::from_certificate_der(b"\x30\x03\x02\x01\x01").is_err());
        let two = format!("{IDP_CRT}\n{IDP_CRT}");
        assert!(IdpKey::from_certificate_pem(&two).is_err());
        assert!(IdpSigner::from_pkcs8_pem(IDP_CRT).is_err());
        assert!(IdpSigner::from_pkcs8_der(b"junk").is_err());
    }

    #[test]
    fn the_none_key_verifies_nothing() {
        let signer = IdpSigner::from_pkcs8_pem(IDP_KEY).unwrap();
        let sig = signer.sign_rs256(b"m");
        assert!(IdpKey::none().verify_rsa_sha256(b"m", &sig).is_err());
    }

    #[test]
    fn a_generated_signer_round_trips_through_pkcs8() {
        let signer = IdpSigner::generate().unwrap();
        let again = IdpSigner::from_pkcs8_der(&signer.to_pkcs8_der()).unwrap();
        assert_eq!(signer.public_key(), again.public_key());
        let (n, e) = signer.rsa_public_components();
        assert_eq!(n.len(), 256);
        assert_eq!(e, vec![1, 0, 1]);
    }
}
