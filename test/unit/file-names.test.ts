import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ALLOWED_EXTENSIONS, finalizeFile, isInside, MAX_NAME_BYTES, safeFileName, sniffMediaExtension } from '../../activities/file-names';

const SUFFIX = '-0123456789ab';
const MP4_HEAD = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(64)]);

describe('safeFileName', () => {
  test.each([
    ['a leading dash', `-rf${SUFFIX}`, 'mp4', `rf${SUFFIX}.mp4`],
    ['leading dashes and dots', `--.-x${SUFFIX}`, 'mp4', `x${SUFFIX}.mp4`],
    ['a hidden-file dot', `.hidden${SUFFIX}`, 'webm', `hidden${SUFFIX}.webm`],
    ['two dots', `..${SUFFIX}`, 'mp4', `0123456789ab.mp4`],
    ['nothing but dots', '...', 'mp3', 'download.mp3'],
    ['an ordinary name', `A_title${SUFFIX}`, 'mp4', `A_title${SUFFIX}.mp4`],
    ['a dot inside', `v1.2_release${SUFFIX}`, 'mkv', `v1.2_release${SUFFIX}.mkv`],
  ])('%s: %j becomes %j', (_what, stem, ext, expected) => {
    expect(safeFileName(stem, ext)).toBe(expected);
  });

  test('a name over 255 bytes is cut in its title, keeping the content-key suffix and the extension', () => {
    const name = safeFileName(`${'é'.repeat(300)}${SUFFIX}`, 'mp4');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(name.endsWith(`${SUFFIX}.mp4`)).toBe(true);
    expect(name).not.toContain('\ufffd');
  });

  test('property: never starts with "-" or ".", fits 255 bytes, ends with the extension', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.constantFrom(...ALLOWED_EXTENSIONS), (title, ext) => {
        const name = safeFileName(`${title.replace(/[/\0]/g, '_')}${SUFFIX}`, ext);
        expect(name).not.toMatch(/^[-.]/);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
        expect(name.endsWith(`.${ext}`)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('isInside', () => {
  test.each([
    ['/srv/dl', '/srv/dl/clip.mp4', true],
    ['/srv/dl', '/srv/dl/..-0123456789ab.mp4', true],
    ['/srv/dl', '/srv/dl/...mp4', true],
    ['/srv/dl', '/srv/dl/sub/clip.mp4', true],
    ['/srv/dl', '/srv/dl', false],
    ['/srv/dl', '/srv/clip.mp4', false],
    ['/srv/dl', '/srv/dl-other/clip.mp4', false],
    ['/srv/dl', '/etc/passwd', false],
  ])('%s contains %s: %s', (dir, file, inside) => {
    expect(isInside(dir, file)).toBe(inside);
  });
});

describe('sniffMediaExtension', () => {
  test.each<[string, Buffer, string | null]>([
    ['MP4', MP4_HEAD, 'mp4'],
    ['M4A', Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A '), Buffer.alloc(64)]), 'm4a'],
    ['WebM', Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.from('....webm'), Buffer.alloc(64)]), 'webm'],
    ['Matroska', Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.from('matroska'), Buffer.alloc(64)]), 'mkv'],
    ['Ogg', Buffer.concat([Buffer.from('OggS'), Buffer.alloc(64)]), 'ogg'],
    ['MP3 with ID3', Buffer.concat([Buffer.from('ID3'), Buffer.alloc(64)]), 'mp3'],
    ['WAV', Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE'), Buffer.alloc(64)]), 'wav'],
    ['a shell script', Buffer.concat([Buffer.from('#!/bin/sh\nrm -rf ~\n'), Buffer.alloc(64)]), null],
    ['HTML', Buffer.concat([Buffer.from('<!doctype html><html>'), Buffer.alloc(64)]), null],
    ['a Windows program', Buffer.concat([Buffer.from('MZ\x90\0'), Buffer.alloc(64)]), null],
  ])('%s -> %s', (_what, head, ext) => {
    expect(sniffMediaExtension(head)).toBe(ext);
  });
});

describe('finalizeFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-names-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: Buffer | string = MP4_HEAD) => {
    fs.writeFileSync(path.join(dir, name), content);
    return path.join(dir, name);
  };

  test('renames a name that starts with "-" or "." and keeps the content', async () => {
    write(`-rf${SUFFIX}.mp4`);
    expect(await finalizeFile(dir, path.join(dir, `-rf${SUFFIX}.mp4`))).toEqual({ ok: true, relativePath: `rf${SUFFIX}.mp4` });
    expect(fs.readdirSync(dir)).toEqual([`rf${SUFFIX}.mp4`]);
  });

  test('accepts a legitimate name that begins with ".." (it is inside the directory) and makes it visible', async () => {
    write(`..-x${SUFFIX}.mp4`);
    expect(await finalizeFile(dir, `..-x${SUFFIX}.mp4`)).toEqual({ ok: true, relativePath: `x${SUFFIX}.mp4` });
  });

  test('refuses and removes a file whose extension is not media or subtitles and whose content is not media', async () => {
    write(`evil${SUFFIX}.sh`, '#!/bin/sh\necho pwned\n');
    const result = await finalizeFile(dir, `evil${SUFFIX}.sh`);
    expect(result).toMatchObject({ ok: false, reason: 'extension' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test.each(['unknown_video', 'bin', 'desktop'])('names a "%s" file after its content when that is media', async (ext) => {
    write(`clip${SUFFIX}.${ext}`);
    expect(await finalizeFile(dir, `clip${SUFFIX}.${ext}`)).toEqual({ ok: true, relativePath: `clip${SUFFIX}.mp4` });
  });

  test('refuses a path outside the download directory without touching it', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'x.mp4'), MP4_HEAD);
      expect(await finalizeFile(dir, path.join(outside, 'x.mp4'))).toMatchObject({ ok: false, reason: 'outside' });
      expect(fs.existsSync(path.join(outside, 'x.mp4'))).toBe(true);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('keeps subtitles and audio as they are', async () => {
    write(`talk${SUFFIX}.en.vtt`, 'WEBVTT\n');
    write(`song${SUFFIX}.mp3`, Buffer.concat([Buffer.from('ID3'), Buffer.alloc(64)]));
    expect(await finalizeFile(dir, `talk${SUFFIX}.en.vtt`)).toEqual({ ok: true, relativePath: `talk${SUFFIX}.en.vtt` });
    expect(await finalizeFile(dir, `song${SUFFIX}.mp3`)).toEqual({ ok: true, relativePath: `song${SUFFIX}.mp3` });
  });
});
