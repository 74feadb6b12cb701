//! The signature appended to a module file: `~Module signature appended~\n`
//! preceded by `struct module_signature` (include/linux/module_signature.h)
//! and, before that, the signer, key id and signature. Debian's kmod 30
//! reads the usual PKCS#7 kind with OpenSSL; this is a small DER walker that
//! takes the same four facts out of it (libkmod-signature.c, fill_pkcs7()).

const MAGIC: &[u8] = b"~Module signature appended~\n";

pub struct Signature<'a> {
    /// "PGP", "X509" or "PKCS#7".
    pub id_type: &'static str,
    pub signer: &'a [u8],
    pub key_id: &'a [u8],
    pub hash_algo: &'static str,
    pub sig: &'a [u8],
}

const ID_TYPES: [&str; 3] = ["PGP", "X509", "PKCS#7"];
const HASHES: [&str; 9] = ["md4", "md5", "sha1", "rmd160", "sha256", "sha384", "sha512", "sha224", "sm3"];

/// The signature of a module image, when it has one kmod would show.
pub fn parse(image: &[u8]) -> Option<Signature<'_>> {
    let body = image.strip_suffix(MAGIC)?;
    let (body, info) = body.split_at(body.len().checked_sub(12)?);
    let (algo, hash, id_type, signer_len, key_id_len) =
        (info[0], info[1] as usize, info[2] as usize, info[3] as usize, info[4] as usize);
    let sig_len = u32::from_be_bytes([info[8], info[9], info[10], info[11]]) as usize;
    if algo >= 2
        || hash >= HASHES.len()
        || id_type >= ID_TYPES.len()
        || sig_len == 0
        || body.len() < signer_len + key_id_len + sig_len
    {
        return None;
    }
    let (rest, sig) = body.split_at(body.len() - sig_len);
    if id_type == 2 {
        return pkcs7(sig);
    }
    let (rest, key_id) = rest.split_at(rest.len() - key_id_len);
    let signer = &rest[rest.len() - signer_len..];
    Some(Signature { id_type: ID_TYPES[id_type], signer, key_id, hash_algo: HASHES[hash], sig })
}

/// One DER element: (tag, contents, what follows it).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        // Long form with 1-4 length bytes; BER's indefinite form (0x80) is
        // not DER and not what sign-file writes.
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, &b| a << 8 | b as usize), &rest[n..])
    };
    (len <= rest.len()).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The contents of the element with `tag` at the start of `data`, and what
/// follows it.
fn expect(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, body, rest) = tlv(data)?;
    (t == tag).then_some((body, rest))
}

const SEQ: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// PKCS#7 SignedData: the first SignerInfo's issuer common name, serial
/// number, digest algorithm and encrypted digest.
fn pkcs7(der: &[u8]) -> Option<Signature<'_>> {
    let (content_info, _) = expect(der, SEQ)?;
    let (_, rest) = expect(content_info, OID)?;
    let (explicit, _) = expect(rest, 0xa0)?;
    let (signed, _) = expect(explicit, SEQ)?;
    let (_, rest) = expect(signed, 0x02)?; // version
    let (_, rest) = expect(rest, SET)?; // digestAlgorithms
    let (_, mut rest) = expect(rest, SEQ)?; // contentInfo
                                            // Optional [0] certificates and [1] crls, then the signerInfos.
    while let Some((0xa0 | 0xa1, _, next)) = tlv(rest) {
        rest = next;
    }
    let (signer_infos, _) = expect(rest, SET)?;
    let (si, _) = expect(signer_infos, SEQ)?;
    let (_, rest) = expect(si, 0x02)?; // version
    let (issuer_serial, rest) = expect(rest, SEQ)?;
    let (issuer, after_issuer) = expect(issuer_serial, SEQ)?;
    let (serial, _) = expect(after_issuer, 0x02)?;
    let (digest_alg, mut rest) = expect(rest, SEQ)?;
    let (oid, _) = expect(digest_alg, OID)?;
    if let Some((0xa0, _, next)) = tlv(rest) {
        rest = next; // authenticatedAttributes
    }
    let (_, rest) = expect(rest, SEQ)?; // digestEncryptionAlgorithm
    let (sig, _) = expect(rest, 0x04)?;
    Some(Signature {
        id_type: "PKCS#7",
        signer: common_name(issuer),
        key_id: magnitude(serial),
        hash_algo: hash_name(oid)?,
        sig,
    })
}

/// libkmod's x509_name_to_str(): the commonName (2.5.4.3), or, as its loop
/// leaves it when there is none, the last attribute's value; up to a NUL
/// as strlen() would read it.
fn common_name(mut name: &[u8]) -> &[u8] {
    let mut found: &[u8] = b"";
    while let Some((rdn, rest)) = expect(name, SET) {
        name = rest;
        let Some((atv, _)) = expect(rdn, SEQ) else { continue };
        let Some((oid, value)) = expect(atv, OID) else { continue };
        let Some((_, value, _)) = tlv(value) else { continue };
        found = value;
        if oid == [0x55, 0x04, 0x03] {
            break;
        }
    }
    &found[..found.iter().position(|&c| c == 0).unwrap_or(found.len())]
}

/// BN_bn2bin() of a non-negative INTEGER: without its leading zero bytes.
fn magnitude(int: &[u8]) -> &[u8] {
    &int[int.iter().position(|&c| c != 0).unwrap_or(int.len())..]
}

fn hash_name(oid: &[u8]) -> Option<&'static str> {
    const NIST: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
    const RSADSI: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02];
    Some(match oid {
        [p @ .., n] if p == NIST => match n {
            1 => "sha256",
            2 => "sha384",
            3 => "sha512",
            4 => "sha224",
            _ => return None,
        },
        [p @ .., 4] if p == RSADSI => "md4",
        [p @ .., 5] if p == RSADSI => "md5",
        [0x2b, 0x0e, 0x03, 0x02, 0x1a] => "sha1",
        [0x2b, 0x24, 0x03, 0x02, 0x01] => "rmd160",
        [0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x11] => "sm3",
        _ => return None,
    })
}

/// kmod's hex form: `AB:CD:...`, a line break and two tabs after every 20
/// bytes (libkmod-module.c, kmod_module_hex_to_str()).
pub fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for (i, &b) in bytes.iter().enumerate() {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
        if i + 1 < bytes.len() {
            out.push(b':');
            if (i + 1) % 20 == 0 {
                out.extend_from_slice(b"\n\t\t");
            }
        }
    }
}
