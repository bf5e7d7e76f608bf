/**
 * The transcript entity of an AudioHook `event` message (protocol §4), as sent on the wire.
 * All offsets are absolute on the stream timeline (§6), formatted as `PT<s>S` Durations.
 */

export interface TranscriptToken {
  type: 'word';
  /** The word as displayed, punctuation attached. */
  value: string;
  /** In [0, 1]. */
  confidence: number;
  /** Absolute stream position of the word start; unique within one interpretation. */
  offset: string;
  duration: string;
  /** BCP-47 tag, full (`en-US`) or primary subtag (`en`) depending on configuration. */
  language: string;
}

export interface TranscriptInterpretation {
  type: 'display';
  transcript: string;
  tokens: TranscriptToken[];
}

export interface TranscriptAlternative {
  /** In [0, 1]. */
  confidence: number;
  languages: string[];
  interpretations: TranscriptInterpretation[];
}

export interface TranscriptData {
  /** UUID of the utterance; interims and the final of one utterance share it. */
  id: string;
  /** Index of the channel in the selected media's `channels` array. */
  channelId: number;
  isFinal: boolean;
  offset: string;
  duration: string;
  alternatives: TranscriptAlternative[];
}

export interface TranscriptEntity {
  type: 'transcript';
  data: TranscriptData;
}
