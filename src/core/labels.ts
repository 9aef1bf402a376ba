/** The shared emotion label space, in this order everywhere (docs/corpora.md). */
export const EMOTIONS = ['anger', 'disgust', 'fear', 'joy', 'neutral', 'sadness', 'surprise'] as const;

export type Emotion = (typeof EMOTIONS)[number];

export const NUM_EMOTIONS = EMOTIONS.length;

/** Modalities in the order of the head's presence mask (docs/head.md). */
export const MODALITIES = ['text', 'image', 'audio'] as const;
export type Modality = (typeof MODALITIES)[number];
