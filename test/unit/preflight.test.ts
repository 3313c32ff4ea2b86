import { cookieValues } from '../../workers/preflight';

test('cookie values are read from a Netscape cookies file, HttpOnly lines included; anything else is refused', () => {
  const file = [
    '# Netscape HTTP Cookie File',
    '# a comment',
    '.example.com\tTRUE\t/\tTRUE\t0\tSID\tsecret-session-value',
    '#HttpOnly_.example.com\tTRUE\t/\tTRUE\t0\tHSID\tanother-secret-value',
    '',
  ].join('\n');
  expect(cookieValues(file)).toEqual(['secret-session-value', 'another-secret-value']);
  expect(cookieValues('# Netscape HTTP Cookie File\n')).toEqual([]);
  expect(cookieValues('{"cookies": []}')).toBeNull();
  expect(cookieValues('a\tb\tc\n')).toBeNull();
  expect(cookieValues('')).toBeNull();
});
