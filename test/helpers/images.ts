/** Test images, made with sharp (and one PNG written by hand: the decompression bomb). */
import { deflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';

/** A still image: a diagonal gradient, so that crops and scales are not trivially uniform. */
export async function still(format: 'png' | 'jpeg' | 'gif' | 'webp', width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = (x * 255) / width;
      raw[o + 1] = (y * 255) / height;
      raw[o + 2] = 128;
    }
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  return (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : format === 'gif' ? img.gif() : img.webp()).toBuffer();
}

/** An animated GIF or WebP of `frames` frames. */
export async function animated(format: 'gif' | 'webp', width: number, height: number, frames: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < width * height; i++) {
      const o = (f * width * height + i) * 4;
      raw[o] = (f * 255) / frames;
      raw[o + 1] = (i % width) % 256;
      raw[o + 2] = 200;
      raw[o + 3] = 255;
    }
  }
  const img = sharp(raw, { raw: { width, height: height * frames, channels: 4, pageHeight: height } });
  const delay = Array.from({ length: frames }, () => 100);
  return (format === 'gif' ? img.gif({ delay }) : img.webp({ delay })).toBuffer();
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A valid PNG of `side`×`side` black 1-bit pixels: a few dozen KiB on disk,
 * side² pixels to decode (20 000² = 400 megapixels, over a gigabyte as RGBA).
 */
export function decompressionBomb(side = 20_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const row = 1 + Math.ceil(side / 8);
  const idat = deflateSync(Buffer.alloc(row * side), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** The first part of a PNG: a valid header, then the image data stops. */
export function truncated(png: Buffer, keep = 0.5): Buffer {
  return png.subarray(0, Math.floor(png.length * keep));
}

export async function dimensions(img: Buffer): Promise<{ format: string; width: number; height: number; pages: number }> {
  const m = await sharp(img, { limitInputPixels: false }).metadata();
  return { format: m.format!, width: m.width!, height: m.height!, pages: m.pages ?? 1 };
}
