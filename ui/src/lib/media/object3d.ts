// Object3D files: which viewer draws a file, and where the camera goes to show all of it.
// Pure (no three.js), so the main bundle stays small and Vitest can check it in Node.

export type Object3DFormat = 'points' | 'glb' | 'gltf' | 'obj' | 'stl' | 'other';

// The format of a stored Object3D file, from its name (media/object3D/<key>_<step>_<sha20>.<ext>).
export function objectFormat(path: string): Object3DFormat {
  const name = path.toLowerCase();
  if (name.endsWith('.pts.json')) return 'points';
  for (const ext of ['glb', 'gltf', 'obj', 'stl'] as const) if (name.endsWith('.' + ext)) return ext;
  return 'other'; // .babylon and anything else: offered for download
}

export interface CameraFit {
  distance: number; // from the object's centre to the camera
  near: number;
  far: number;
  direction: [number, number, number]; // unit vector from the centre towards the camera
}

// A camera that shows a bounding sphere whole: far enough that the sphere fits both the
// vertical and the horizontal field of view (narrow panels are limited by the horizontal one),
// with a margin, looking from the front-right and a little above (a three-quarter view).
export function fitCamera(radius: number, fovDeg: number, aspect: number, margin = 1.15): CameraFit {
  const r = radius > 0 && Number.isFinite(radius) ? radius : 1;
  const vHalf = (fovDeg * Math.PI) / 360;
  const hHalf = Math.atan(Math.tan(vHalf) * (aspect > 0 ? aspect : 1));
  const distance = (r * margin) / Math.sin(Math.min(vHalf, hHalf));
  const d: [number, number, number] = [1, 0.7, 1.3];
  const n = Math.hypot(...d);
  return {
    distance,
    near: distance / 100, // room to zoom in and out with the orbit controls
    far: distance * 100,
    direction: [d[0] / n, d[1] / n, d[2] / n],
  };
}
