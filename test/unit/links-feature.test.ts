import { linksFromEntities } from '../../bot/features/links';

describe('links Telegram marked in a message', () => {
  test('a link hidden behind text is taken from its entity', () => {
    expect(linksFromEntities('watch this', [{ type: 'text_link', offset: 0, length: 5, url: 'https://youtu.be/dQw4w9WgXcQ' }])).toEqual([
      'https://youtu.be/dQw4w9WgXcQ',
    ]);
  });

  test('a link written without a scheme gets https://', () => {
    const text = 'see youtu.be/dQw4w9WgXcQ now';
    expect(linksFromEntities(text, [{ type: 'url', offset: 4, length: 20 }])).toEqual(['https://youtu.be/dQw4w9WgXcQ']);
  });

  test('links with a scheme or www. are left to the word scan (so they are not counted twice)', () => {
    for (const text of ['https://example.com/a.mp4', 'www.example.com/a.mp4']) {
      expect(linksFromEntities(text, [{ type: 'url', offset: 0, length: text.length }])).toEqual([]);
    }
  });

  test('offsets count UTF-16 units, so emoji before a link do not shift it', () => {
    const text = '🎬🎬 example.com/clip.mp4';
    expect(linksFromEntities(text, [{ type: 'url', offset: 5, length: 20 }])).toEqual(['https://example.com/clip.mp4']);
  });

  test('a bare name Telegram highlights (README.md, example.com) is not taken for a media link', () => {
    for (const text of ['README.md', 'example.com']) {
      expect(linksFromEntities(text, [{ type: 'url', offset: 0, length: text.length }])).toEqual([]);
    }
  });

  test('a host with a port but no scheme still counts', () => {
    const text = 'example.com:8080/v.mp4';
    expect(linksFromEntities(text, [{ type: 'url', offset: 0, length: text.length }])).toEqual(['https://example.com:8080/v.mp4']);
  });

  test('other entities are ignored', () => {
    expect(
      linksFromEntities('/start @someone', [
        { type: 'bot_command', offset: 0, length: 6 },
        { type: 'mention', offset: 7, length: 8 },
      ]),
    ).toEqual([]);
  });
});
