/**
 * Password hashes: scrypt with stated parameters, a fresh salt per hash,
 * and the same work for a user with no hash (unknown user) as for a wrong
 * password: counted in key derivations, not timed.
 */
import t from 'tap';
import { hashPassword, scryptKdf, verifyPassword, type Kdf, type ScryptParams } from '../../../src/components/userapi/passwords.js';

t.test('hash and verify', async (t) => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  t.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'the parameters are in the stored form');
  t.not(a, b, 'a fresh salt each time');
  t.equal(await verifyPassword('correct horse', a), true);
  t.equal(await verifyPassword('correct horse ', a), false);
  t.equal(await verifyPassword('', a), false);
  t.equal(await verifyPassword('ｃｏｒｒｅｃｔ horse', a), true, 'NFKC: full-width letters are the same password');
  t.equal(await verifyPassword('correct horse', 'garbage'), false, 'an unreadable stored hash matches nothing');
});

t.test('an unknown user costs one scrypt, like a wrong password', async (t) => {
  const calls: ScryptParams[] = [];
  const counting: Kdf = (password, salt, params) => {
    calls.push(params);
    return scryptKdf(password, salt, params);
  };
  const stored = await hashPassword('pw');
  t.equal(await verifyPassword('guess', stored, counting), false);
  const wrong = calls.splice(0);
  t.equal(await verifyPassword('guess', undefined, counting), false);
  const unknown = calls.splice(0);
  t.equal(wrong.length, 1);
  t.same(unknown, wrong, 'the same scrypt work');
});
